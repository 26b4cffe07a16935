"""`cmo-agent report JOB_ID --html PATH`: one self-contained page a marketer can show their team.

The charts are drawn by matplotlib as inline SVG: no script, no network asset, works offline and in
any browser. Every string from outside (goal, logins, reply text) is HTML-escaped by Jinja2.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from cmo_agent.core.state import RunState

FUNNEL_COLOR = "#2f6fbd"
SENT_COLOR = "#7a8fa6"
REPLY_COLOR = "#1f9d55"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign report: {{ job_id }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1d2733; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; }
td, th { padding: .3rem .8rem; border-bottom: 1px solid #dde3ea; text-align: left; }
.figures { display: flex; gap: 1rem; flex-wrap: wrap; }
.figure { background: #f4f7fa; border-radius: .5rem; padding: .8rem 1.2rem; min-width: 8rem; }
.figure b { display: block; font-size: 1.6rem; }
.chart svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Campaign report</h1>
<p>{{ goal }} · job <code>{{ job_id }}</code>{% if completed_at %} · finished {{ completed_at }}{% endif %}</p>
<div class="figures">
{% for name, value in headline %}<div class="figure"><b>{{ value }}</b>{{ name }}</div>{% endfor %}
</div>
<h2>Funnel</h2><div class="chart" id="funnel-chart">{{ funnel_svg }}</div>
<h2>Sends and replies</h2><div class="chart" id="timeline-chart">{{ timeline_svg }}</div>
<h2>Outcomes</h2>
<table><tr><th>outcome</th><th>messages</th><th>of sent</th></tr>
{% for name, value in outcomes.items() %}<tr><td>{{ name }}</td><td>{{ value }}</td>
<td>{% if rates.get(name) is not none %}{{ "%.1f" | format(rates[name] * 100) }} %{% endif %}</td></tr>{% endfor %}
</table>
{% if steps | length > 1 %}<h2>By step</h2>
<table><tr><th>step</th><th>delivered</th><th>replied</th><th>reply rate</th><th>not sent to</th></tr>
{% for row in steps %}<tr><td>{{ row.name }}</td><td>{{ row.delivered }}</td><td>{{ row.replied }}</td>
<td>{% if row.reply_rate is not none %}{{ "%.1f" | format(row.reply_rate * 100) }} %{% endif %}</td>
<td>{% for reason, n in row.stopped | dictsort %}{{ n }} {{ reason }}{% if not loop.last %}, {% endif %}{%
endfor %}</td>
</tr>{% endfor %}
</table>{% endif %}
{% if replies %}<h2>Replies</h2>
<table><tr><th>who</th><th>when</th><th>first words</th></tr>
{% for item in replies %}<tr><td>{{ item.login }}</td><td>{{ (item.at or "")[:16] | replace("T", " ") }}</td>
<td>{{ item.text[:160] }}</td></tr>{% endfor %}
</table>{% endif %}
{% if errors %}<h2>Errors by stage</h2>
<table><tr><th>stage</th><th>count</th><th>commonest</th></tr>
{% for stage, found in errors.items() %}<tr><td>{{ stage }}</td><td>{{ found.count }}</td>
<td>{{ found.commonest | join("; ") }}</td></tr>{% endfor %}
</table>{% endif %}
<h2>Usage</h2>
<p>GitHub: {{ github.api_calls }} requests ({{ github.graphql_points }} GraphQL points),
{{ github.cache_hits }} answers from the cache{% if github.fetched_ahead %} ({{ github.fetched_ahead }} of them
fetched ahead by this job){% endif %}, {{ github.wait_seconds }} s waited.{% if llm.llm_calls %} Model:
{{ llm.llm_calls }} requests,
{{ llm.llm_prompt_tokens + llm.llm_completion_tokens }} tokens.{% endif %}</p>
{% if stage_seconds %}<p>Time per stage: {% for stage, sec in stage_seconds.items() %}{{ stage }} {{ sec }} s{%
if not loop.last %}, {% endif %}{% endfor %}.</p>{% endif %}
</body></html>
"""


def render_html(data: dict[str, Any], state: RunState) -> str:
    """The page for `job_report` data, its timeline from the state's send and reply times."""
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    outcomes = data["outcomes"]
    headline = [
        ("people found", data["funnel"].get("candidates", 0)),
        ("emails sent", outcomes["sent"]),
        ("replies", outcomes["replied"]),
        ("reply rate", f"{data['rates']['replied']:.1%}" if data["rates"]["replied"] is not None else "–"),
    ]
    return environment.from_string(_PAGE).render(
        data,
        headline=headline,
        funnel_svg=Markup(_funnel_svg(data["funnel"])),  # noqa: S704 (matplotlib's own SVG, no outside text)
        timeline_svg=Markup(_timeline_svg(state)),  # noqa: S704
    )


def _svg(figure: Any) -> str:
    from matplotlib import pyplot

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "cmo-agent"  # the same page for the same data
    from matplotlib import pyplot

    return pyplot.subplots(figsize=(width, height))


def _funnel_svg(funnel: dict[str, int]) -> str:
    figure, axes = _figure(8, 3.6)
    names = list(funnel)[::-1]
    values = [funnel[name] for name in names]
    bars = axes.barh([name.replace("_", " ") for name in names], values, color=FUNNEL_COLOR)
    axes.bar_label(bars, padding=3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlabel("people (repositories for the first bar)")
    return _svg(figure)


def _timeline_svg(state: RunState) -> str:
    sends: Counter[date] = Counter()
    for draft in [*state.get("to_send", {}).values(), *state.get("follow_ups", {}).values()]:
        if draft.get("status") == "sent" and (at := _day(draft.get("sent_at"))):
            sends[at] += 1
    replies: Counter[date] = Counter()
    for lead in state.get("leads", {}).values():
        if lead.get("outcome") == "replied" and (at := _day(lead.get("outcome_at"))):
            replies[at] += 1
    figure, axes = _figure(8, 3)
    days = sorted(set(sends) | set(replies))
    if days:
        axes.bar(days, [sends[d] for d in days], color=SENT_COLOR, label="sent", width=0.8)
        axes.plot(days, [replies[d] for d in days], color=REPLY_COLOR, marker="o", linewidth=2.5, label="replies")
        axes.legend(frameon=False)
        figure.autofmt_xdate()
    else:
        axes.text(0.5, 0.5, "nothing sent over SMTP yet", ha="center", va="center", transform=axes.transAxes)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylabel("messages per day")
    return _svg(figure)


def _day(value: object) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).date() if value else None
    except ValueError:
        return None
