"""Deterministic generator for the offline GitHub snapshot behind the demo campaign.

The snapshot feeds a loopback GitHub REST stand-in that PyGithub talks to during the
"Find active ML engineers" demo. It is invented data that is shaped like the real API and
is full of the traps a contact pipeline meets in the wild:

* off-topic repositories (a static-site theme, a game), an archived and a forked ML repository;
* two repositories with more than 100 contributors (the contributors list needs two pages);
* people who contribute to several repositories, and a long tail of one-commit contributors;
* bots: ``[bot]`` accounts typed ``Bot``, one ``[bot]`` account typed ``User`` and one ``Bot``
  without the suffix, plus a human whose login merely starts with "bot";
* profile addresses that are missing, ``users.noreply.github.com`` addresses, role addresses,
  syntactically invalid ones and one address shared by two logins in different case;
* commit author addresses that differ from the profile, noreply commit addresses, commits that
  are not linked to any account and ``Co-authored-by`` trailers.

Everything derives from ``random.Random(seed)`` and the fixed ``TAKEN_AT`` time, so a given
``(repos, people, seed)`` always yields byte-identical JSON.

Usage::

    python -m cmo_agent.demo.build_snapshot [--out PATH] [--repos N] [--people N] [--seed S]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_OUT", "TAKEN_AT", "build_snapshot", "main", "write_snapshot"]

SNAPSHOT_VERSION = 1
TAKEN_AT = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "demo" / "github_snapshot.json"

NOREPLY_DOMAIN = "users.noreply.github.com"
# GitHub switched to "ID+login@users.noreply.github.com" for accounts made after this date.
_NEW_NOREPLY_SINCE = datetime(2017, 7, 18, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days_ago(days: float) -> datetime:
    return (TAKEN_AT - timedelta(days=days)).replace(microsecond=0)


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Culture:
    """Given names (``*`` marks female), family names (``male|female`` when gendered)."""

    key: str
    weight: int
    given: tuple[str, ...]
    family: tuple[str, ...]
    cities: tuple[str, ...]
    freemail: tuple[str, ...]
    tlds: tuple[str, ...]
    family_first: bool


def _culture(
    key: str,
    weight: int,
    given: str,
    family: str,
    cities: str,
    *,
    freemail: str = "gmail.com*6, outlook.com, proton.me, yahoo.com",
    tlds: str = "dev, io, me, net",
    family_first: bool = False,
) -> _Culture:
    """A culture from compact text: names are comma-separated, cities " / "-separated and
    free-mail domains may carry a ``*N`` weight."""
    mail: list[str] = []
    for item in freemail.split(", "):
        domain, _, times = item.partition("*")
        mail += [domain] * int(times or 1)
    return _Culture(
        key,
        weight,
        tuple(given.split(", ")),
        tuple(family.split(", ")),
        tuple(cities.split(" / ")),
        tuple(mail),
        tuple(tlds.split(", ")),
        family_first,
    )


_CULTURES: tuple[_Culture, ...] = (
    _culture(
        "us",
        13,
        (
            "Emily*, Jacob, Olivia*, Ethan, Madison*, Ryan, Hannah*, Tyler, Grace*, Nathan, Sarah*, "
            "Daniel, Megan*, Kevin, Rachel*, Brian, Jessica*, Marcus, Jasmine*, Andre, Caitlin*, Derek"
        ),
        (
            "Johnson, Smith, Miller, Davis, Anderson, Thompson, Walker, Mitchell, Carter, Brooks, "
            "Bennett, Hughes, Coleman, Reed, Foster, Washington, Sullivan, Price"
        ),
        (
            "San Francisco, CA / Seattle, WA / New York, NY / Boston, MA / Austin, TX / "
            "Pittsburgh, PA / Chicago, IL / Denver, CO / Portland, OR / Toronto, Canada"
        ),
        tlds="dev, io, com, me, net",
    ),
    _culture(
        "uk",
        4,
        "Oliver, Amelia*, Harry, Isla*, George, Freya*, Alfie, Poppy*, Rhys",
        "Taylor, Evans, Wright, Roberts, Clarke, Hall, Green, Lewis, Jones",
        (
            "London, UK / Cambridge, UK / Edinburgh, Scotland / Manchester, UK / Bristol, UK / "
            "Oxford, UK / Cardiff, Wales"
        ),
        tlds="dev, co.uk, io, me",
    ),
    _culture(
        "ie",
        2,
        "Aoife*, Ciarán, Niamh*, Conor, Siobhán*, Declan, Saoirse*",
        "Murphy, O'Brien, Kelly, Walsh, Byrne, Ryan, O'Sullivan",
        "Dublin, Ireland / Cork, Ireland / Galway, Ireland",
        tlds="ie, dev, io",
    ),
    _culture(
        "in",
        14,
        (
            "Aarav, Ananya*, Rohan, Karthik, Divya*, Arjun, Sneha*, Vikram, Meera*, Siddharth, Kavya*, "
            "Rahul, Lakshmi*, Aditya, Pooja*, Harsha, Nikhil, Shreya*, Varun, Ishita*"
        ),
        (
            "Sharma, Iyer, Reddy, Patel, Gupta, Krishnan, Menon, Banerjee, Rao, Desai, Chatterjee, "
            "Kulkarni, Nambiar, Srinivasan, Joshi, Verma"
        ),
        (
            "Bengaluru, India / Hyderabad, India / Pune, India / Chennai, India / Mumbai, India / "
            "New Delhi, India / Bangalore / Kochi, India"
        ),
        freemail="gmail.com*7, yahoo.co.in, outlook.com, rediffmail.com",
        tlds="dev, in, io, me",
    ),
    _culture(
        "cn",
        10,
        "Wei, Jing*, Hao, Xiaoyu*, Yifan, Zihan, Mingyu, Lei, Yuting*, Jun, Shuang*, Ruoxi*, Tianyi, Zhiyuan, Siqi*",
        "Zhang, Wang, Li, Liu, Chen, Yang, Zhao, Huang, Zhou, Wu, Xu, Sun, Ma, Lin",
        "Beijing, China / Shanghai, China / Shenzhen / Hangzhou, China / Singapore / Hong Kong / Chengdu",
        freemail="gmail.com*4, qq.com*2, 163.com, outlook.com",
        tlds="com, dev, io, cn",
        family_first=True,
    ),
    _culture(
        "jp",
        5,
        "Haruto, Yui*, Sota, Aoi*, Kenji, Sakura*, Takumi, Rina*, Daiki, Yuki*, Hiroshi, Mei*",
        "Tanaka, Suzuki, Sato, Takahashi, Watanabe, Ito, Yamamoto, Nakamura, Kobayashi, Kato",
        "Tokyo, Japan / Osaka, Japan / Kyoto / Fukuoka, Japan / Tokyo",
        freemail="gmail.com*5, yahoo.co.jp, icloud.com",
        tlds="jp, dev, net",
        family_first=True,
    ),
    _culture(
        "kr",
        4,
        "Minjun, Seoyeon*, Jiwoo*, Hyunwoo, Jisoo*, Donghyun, Eunji*, Taeyang",
        "Kim, Lee, Park, Choi, Jung, Kang, Yoon, Han",
        "Seoul, South Korea / Daejeon, Korea / Busan / Seoul",
        freemail="gmail.com*4, naver.com*2, kakao.com",
        tlds="kr, dev, io",
        family_first=True,
    ),
    _culture(
        "vn",
        3,
        "Minh, Linh*, Thao*, Quang, Duc, Anh*, Huong*, Tuan",
        "Nguyen, Tran, Le, Pham, Hoang, Vu, Dang",
        "Hanoi, Vietnam / Ho Chi Minh City / Da Nang, Vietnam",
        tlds="vn, dev, io",
    ),
    _culture(
        "ng",
        5,
        "Chinedu, Adaeze*, Oluwaseun, Ngozi*, Emeka, Funmilayo*, Tunde, Chiamaka*, Ifeoma*, Babajide",
        "Okafor, Adeyemi, Okonkwo, Balogun, Eze, Nwosu, Oyelaran, Abubakar",
        "Lagos, Nigeria / Abuja, Nigeria / Ibadan / Lagos",
        tlds="dev, ng, io, me",
    ),
    _culture(
        "gh",
        2,
        "Kwame, Ama*, Kofi, Akosua*, Yaw, Efua*",
        "Mensah, Asante, Owusu, Boateng, Appiah, Darko",
        "Accra, Ghana / Kumasi, Ghana",
    ),
    _culture(
        "ke",
        2,
        "Wanjiru*, Otieno, Njeri*, Kipchoge, Achieng*",
        "Kamau, Ochieng, Mwangi, Wambui, Kariuki, Odhiambo",
        "Nairobi, Kenya / Mombasa, Kenya / Kigali, Rwanda",
    ),
    _culture(
        "et",
        1,
        "Abebe, Selam*, Yohannes, Hana*, Dawit",
        "Tesfaye, Bekele, Girma, Haile, Alemu",
        "Addis Ababa, Ethiopia",
    ),
    _culture(
        "ar",
        4,
        "Omar, Layla*, Youssef, Fatima*, Karim, Nour*, Hassan, Amira*, Tarek, Rania*",
        "Haddad, Khalil, Mansour, El-Sayed, Farouk, Nasser, Saleh, Aziz",
        "Cairo, Egypt / Amman, Jordan / Dubai, UAE / Beirut, Lebanon / Casablanca, Morocco / Riyadh",
    ),
    _culture(
        "tr",
        3,
        "Emre, Zeynep*, Burak, Elif*, Çağrı, Selin*, Mert, Ayşe*",
        "Yılmaz, Kaya, Demir, Şahin, Çelik, Öztürk, Aydın",
        "Istanbul, Turkey / Ankara, Turkey / İzmir",
        tlds="dev, com.tr, io",
    ),
    _culture(
        "ir",
        2,
        "Arash, Shirin*, Reza, Niloufar*, Kian, Parisa*, Dariush",
        "Hosseini, Tehrani, Karimi, Rahimi, Moradi, Jafari",
        "Tehran, Iran / Toronto, Canada / Vancouver, BC",
    ),
    _culture(
        "pk",
        2,
        "Ayesha*, Bilal, Hamza, Sana*, Usman, Zainab*",
        "Khan, Ahmed, Malik, Qureshi, Siddiqui, Chaudhry",
        "Lahore, Pakistan / Karachi, Pakistan / Islamabad",
    ),
    _culture(
        "bd",
        1,
        "Tahmid, Nusrat*, Farhan, Sadia*",
        "Rahman, Hossain, Islam, Chowdhury",
        "Dhaka, Bangladesh",
    ),
    _culture(
        "ua",
        3,
        "Oleksandr, Iryna*, Taras, Olena*, Andriy, Yulia*, Dmytro, Kateryna*",
        "Shevchenko, Kovalenko, Bondarenko, Tkachenko, Melnyk, Kravchenko, Marchenko",
        "Kyiv, Ukraine / Lviv, Ukraine / Kharkiv / Warsaw, Poland",
        freemail="gmail.com*5, ukr.net, proton.me",
        tlds="dev, io, me",
    ),
    _culture(
        "ru",
        2,
        "Dmitri, Anastasia*, Alexei, Ekaterina*, Ivan, Olga*, Sergei, Natalia*",
        "Volkov|Volkova, Ivanov|Ivanova, Sokolov|Sokolova, Morozov|Morozova, Petrov|Petrova, Orlov|Orlova",
        "Belgrade, Serbia / Tbilisi, Georgia / Berlin, Germany / Yerevan, Armenia / Limassol, Cyprus",
        freemail="gmail.com*4, yandex.ru, proton.me",
        tlds="dev, io, me",
    ),
    _culture(
        "pl",
        3,
        "Łukasz, Agnieszka*, Tomasz, Katarzyna*, Piotr, Magdalena*, Michał, Zofia*",
        (
            "Kowalski|Kowalska, Nowak, Wiśniewski|Wiśniewska, Wójcik, Kamiński|Kamińska, "
            "Lewandowski|Lewandowska, Zieliński|Zielińska"
        ),
        "Warsaw, Poland / Kraków, Poland / Wrocław / Gdańsk, Poland",
        tlds="pl, dev, io",
    ),
    _culture(
        "hu",
        1,
        "Botond, Eszter*, Bence, Réka*, Zoltán, Dóra*",
        "Szabó, Nagy, Kovács, Tóth, Horváth, Varga",
        "Budapest, Hungary / Debrecen",
        tlds="hu, dev, io",
        family_first=True,
    ),
    _culture(
        "de",
        6,
        "Jonas, Lena*, Felix, Hannah*, Lukas, Sophie*, Maximilian, Johanna*, Tobias, Anja*, Moritz, Katharina*",
        "Müller, Schmidt, Schneider, Fischer, Weber, Becker, Hoffmann, Wagner, Keller, Vogel, Krüger",
        (
            "Berlin, Germany / Munich, Germany / Hamburg / Zürich, Switzerland / Vienna, Austria / "
            "Tübingen, Germany / Heidelberg / Berlin"
        ),
        freemail="gmail.com*4, gmx.de, web.de, posteo.de, mailbox.org",
        tlds="de, dev, io, ch",
    ),
    _culture(
        "fr",
        4,
        "Camille*, Léa*, Hugo, Antoine, Chloé*, Mathieu, Manon*, Julien, Élodie*, Thibault",
        "Martin, Bernard, Dubois, Lefèvre, Moreau, Laurent, Girard, Rousseau, Fontaine",
        "Paris, France / Lyon, France / Grenoble / Montréal, Canada / Toulouse / Paris",
        freemail="gmail.com*4, orange.fr, free.fr, proton.me",
        tlds="fr, dev, io, eu",
    ),
    _culture(
        "es",
        3,
        "Javier, Lucía*, Alejandro, Carmen*, Pablo, Marta*, Diego, Sofía*",
        "García, Fernández, López, Martínez, Sánchez, Romero, Navarro",
        "Madrid, Spain / Barcelona, Spain / Valencia / Sevilla, Spain",
        tlds="es, dev, io, me",
    ),
    _culture(
        "mx",
        2,
        "Mariana*, José, Ximena*, Luis, Valeria*, Emiliano",
        "Hernández, González, Ramírez, Flores, Cruz, Morales",
        "Mexico City / Guadalajara, México / Monterrey, MX",
        freemail="gmail.com*5, hotmail.com, outlook.com",
        tlds="mx, dev, io",
    ),
    _culture(
        "latam",
        3,
        "Valentina*, Mateo, Camila*, Santiago, Isabella*, Nicolás, Martina*",
        "Rodríguez, Gómez, Díaz, Torres, Vargas, Castro, Rojas",
        "Bogotá, Colombia / Santiago, Chile / Buenos Aires, Argentina / Medellín / Lima, Peru / Montevideo, Uruguay",
        freemail="gmail.com*5, hotmail.com, outlook.com",
        tlds="dev, io, co, ar",
    ),
    _culture(
        "br",
        4,
        "João, Ana*, Thiago, Beatriz*, Rafael, Larissa*, Gabriel, Camila*",
        "Silva, Santos, Oliveira, Souza, Ferreira, Costa, Almeida",
        "São Paulo, Brazil / Rio de Janeiro / Belo Horizonte, Brazil / Florianópolis / Recife, Brasil",
        freemail="gmail.com*5, hotmail.com, uol.com.br, outlook.com",
        tlds="com.br, dev, io",
    ),
    _culture(
        "it",
        3,
        "Marco, Giulia*, Alessandro, Chiara*, Luca, Francesca*, Matteo",
        "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo",
        "Milan, Italy / Turin, Italy / Rome / Bologna, Italy / Pisa",
        tlds="it, dev, io",
    ),
    _culture(
        "nordic",
        3,
        "Erik, Ingrid*, Lars, Astrid*, Magnus, Sigrid*, Henrik, Freja*",
        "Andersson, Johansson, Nilsson, Larsen, Hansen, Lindqvist, Berg",
        "Stockholm, Sweden / Oslo, Norway / Copenhagen, Denmark / Gothenburg / Aarhus, Denmark",
        tlds="se, no, dk, dev",
    ),
    _culture(
        "fi",
        1,
        "Aino*, Mikko, Venla*, Juho",
        "Virtanen, Korhonen, Mäkinen, Nieminen",
        "Helsinki, Finland / Espoo / Tampere, Finland",
        tlds="fi, dev",
    ),
    _culture(
        "nl",
        2,
        "Daan, Sanne*, Bram, Femke*, Joost, Lotte*",
        "de Vries, Jansen, van Dijk, Bakker, Visser, Smit, van den Berg",
        "Amsterdam / Utrecht, Netherlands / Delft / Eindhoven, NL",
        tlds="nl, dev, io",
    ),
    _culture(
        "gr",
        2,
        "Nikos, Eleni*, Giorgos, Maria*, Dimitris, Katerina*",
        "Papadopoulos|Papadopoulou, Georgiou, Nikolaidis|Nikolaidou, Pappas, Oikonomou",
        "Athens, Greece / Thessaloniki",
        tlds="gr, dev, io",
    ),
    _culture(
        "il",
        2,
        "Noa*, Yonatan, Tamar*, Itai, Shira*, Eitan",
        "Cohen, Levi, Mizrahi, Peretz, Friedman, Katz",
        "Tel Aviv, Israel / Haifa / Jerusalem",
        tlds="dev, io, co.il",
    ),
    _culture(
        "id",
        2,
        "Budi, Siti*, Andi, Dewi*, Rizky, Putri*, Agus",
        "Santoso, Wijaya, Pratama, Hidayat, Saputra, Kusuma",
        "Jakarta, Indonesia / Bandung / Yogyakarta, Indonesia",
        tlds="id, dev, io",
    ),
    _culture(
        "ph",
        1,
        "Miguel, Andrea*, Paolo, Bea*, Carlo, Nicole*",
        "Reyes, Santos, dela Cruz, Bautista, Mendoza, Villanueva",
        "Manila, Philippines / Cebu City / Quezon City",
        tlds="ph, dev, io",
    ),
)

_GLOBAL_HUBS = (
    "San Francisco Bay Area",
    "London",
    "Berlin",
    "Zürich",
    "Toronto",
    "Singapore",
    "Paris",
    "New York",
    "Amsterdam",
    "Seattle",
    "Remote",
    "Montreal",
    "Bangalore",
    "Tokyo",
)
_QUIRKY_LOCATIONS = ("Earth", "Remote", "The Internet", "localhost", "🌍", "Somewhere in Europe")

_TRANSLIT = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "ı": "i", "æ": "ae", "œ": "oe", "İ": "I"}
)


@dataclass(frozen=True)
class _Company:
    display: str
    handle: str | None
    domain: str | None
    kind: str  # "ml" | "web" | "uni" | "other"


_COMPANIES: tuple[_Company, ...] = (
    _Company("Lumen Labs", "lumenlabs", "lumenlabs.dev", "ml"),
    _Company("Kestrel AI", "kestrel-ai", "kestrel-ai.dev", "ml"),
    _Company("Quillon", "quillon", "quillon.io", "ml"),
    _Company("Helix Robotics", "helix-robotics", "helix-robotics.dev", "ml"),
    _Company("Deepwell", "deepwell", "deepwell.ai", "ml"),
    _Company("Tessellate", "tessellate-dev", "tessellate.dev", "ml"),
    _Company("Orbital Data", "orbital-data", "orbitaldata.io", "ml"),
    _Company("Cobalt Vision", "cobalt-vision", "cobalt-vision.ai", "ml"),
    _Company("Parabola Health", "parabola-health", "parabola-health.dev", "ml"),
    _Company("Ferrite", "ferrite-ml", "ferrite.dev", "ml"),
    _Company("Acme AI", "acme-ai", "acme-ai.dev", "ml"),
    _Company("Northwind Labs", "northwind-labs", "northwind-labs.dev", "ml"),
    _Company("Sable Systems", "sable-systems", "sablesystems.io", "ml"),
    _Company("Marigold Analytics", "marigold-analytics", "marigold-analytics.dev", "ml"),
    _Company("Vireo Bio", "vireo-bio", "vireo.bio", "ml"),
    _Company("Brightline Robotics", "brightline", "brightline-robotics.dev", "ml"),
    _Company("Inkwell", "inkwell-themes", "inkwell.design", "web"),
    _Company("Pixelmoth Games", "pixelmoth", "pixelmoth.games", "web"),
    _Company("Nimbus Retail", "nimbus-retail", "nimbus-retail.dev", "other"),
    _Company("Fjord Cloud", "fjordcloud", "fjord.cloud", "other"),
    _Company("Lattice Finance", "lattice-fin", "lattice-finance.io", "other"),
    _Company("Harbor & Pine", None, "harborpine.studio", "web"),
)

_UNIVERSITIES: tuple[str, ...] = (
    "ETH Zürich",
    "University of Toronto",
    "IIT Madras",
    "Tsinghua University",
    "KAIST",
    "University of Lagos",
    "Universidade de São Paulo",
    "TU Munich",
    "University of Edinburgh",
    "Carnegie Mellon University",
    "EPFL",
    "University of Tokyo",
    "Mila",
    "University of Amsterdam",
    "Makerere University",
    "National University of Singapore",
    "IISc Bangalore",
    "University of Cape Town",
    "Sorbonne Université",
    "UCL",
)

_FREELANCE = ("Freelance", "Independent", "Self-employed", "Open to work", "Consultant")

_ML_TOPICS = (
    "large language models",
    "efficient inference",
    "speech recognition",
    "diffusion models",
    "graph neural networks",
    "representation learning",
    "reinforcement learning",
    "multilingual NLP",
    "medical imaging",
    "time-series forecasting",
    "recommender systems",
    "federated learning",
    "3D vision",
    "model compression",
    "causal inference",
    "robot learning",
    "retrieval-augmented generation",
    "AutoML",
    "optimization for deep learning",
    "low-resource languages",
)

_ADJ = (
    "quiet",
    "sleepy",
    "lazy",
    "cosmic",
    "tiny",
    "rusty",
    "brave",
    "silent",
    "fuzzy",
    "curious",
    "stochastic",
    "sparse",
    "hungry",
    "lucky",
)
_NOUN = (
    "gradient",
    "tensor",
    "kernel",
    "otter",
    "falcon",
    "pixel",
    "lambda",
    "neuron",
    "walrus",
    "cactus",
    "badger",
    "manifold",
    "heron",
    "quokka",
)
_LOGIN_WORDS = ("ml", "ai", "dev", "codes", "data", "nlp", "cv", "lab", "research", "hq", "x")


@dataclass(frozen=True)
class _RepoSpec:
    key: str
    name: str
    owner: str | None  # organisation login; None means owned by a generated person
    description: str
    topics: tuple[str, ...]
    language: str
    stars: int
    contributors: int  # at people=200, bots included
    theme: str  # "ml" | "web" | "game"
    created: str  # YYYY-MM-DD
    bots: tuple[str, ...] = ()
    license: str | None = "mit"
    homepage: str | None = None
    pushed_mean_days: float = 9.0
    archived_days: float | None = None  # archived repos: days since the last push
    fork_of: str | None = None  # key of the upstream spec
    web_affinity: float = 0.03
    commit_gap_days: float = 2.0
    owner_cultures: tuple[str, ...] = ()  # preferred cultures for a person-owned repository


_LICENSES: dict[str, dict[str, str]] = {
    "mit": {"key": "mit", "name": "MIT License", "spdx_id": "MIT"},
    "apache-2.0": {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"},
    "bsd-3-clause": {
        "key": "bsd-3-clause",
        "name": 'BSD 3-Clause "New" or "Revised" License',
        "spdx_id": "BSD-3-Clause",
    },
    "gpl-3.0": {"key": "gpl-3.0", "name": "GNU General Public License v3.0", "spdx_id": "GPL-3.0"},
    "other": {"key": "other", "name": "Other", "spdx_id": "NOASSERTION"},
}

_BASE_REPOS: tuple[_RepoSpec, ...] = (
    _RepoSpec(
        "tensorforge",
        "tensorforge",
        "lumenlabs",
        "Composable training loops for PyTorch: mixed precision, FSDP and checkpointing without the boilerplate.",
        ("machine-learning", "deep-learning", "pytorch", "distributed-training", "python"),
        "Python",
        38412,
        130,
        "ml",
        "2019-03-14",
        bots=("dependabot[bot]", "github-actions[bot]", "pre-commit-ci[bot]", "ml-release-bot"),
        license="apache-2.0",
        homepage="https://docs.lumenlabs.dev/tensorforge",
        pushed_mean_days=0.8,
        commit_gap_days=0.45,
    ),
    _RepoSpec(
        "kestrel",
        "kestrel-serve",
        "kestrel-ai",
        (
            "High-throughput LLM inference server with paged KV cache, "
            "speculative decoding and an OpenAI-compatible API."
        ),
        ("llm", "inference", "transformers", "cuda", "pytorch", "deep-learning"),
        "Python",
        21876,
        112,
        "ml",
        "2022-08-02",
        bots=("dependabot[bot]", "github-actions[bot]", "ml-release-bot"),
        license="apache-2.0",
        homepage="https://kestrel-ai.dev/serve",
        pushed_mean_days=0.6,
        commit_gap_days=0.35,
    ),
    _RepoSpec(
        "quill",
        "quill-nlp",
        "quillon",
        "Industrial-strength tokenization, tagging and entity linking for 60+ languages.",
        ("nlp", "natural-language-processing", "transformers", "tokenizer", "machine-learning"),
        "Python",
        9843,
        64,
        "ml",
        "2018-05-21",
        bots=("dependabot[bot]", "pre-commit-ci[bot]"),
        homepage="https://quillon.io/docs",
        pushed_mean_days=3,
        commit_gap_days=1.2,
    ),
    _RepoSpec(
        "visionkit",
        "visionkit",
        "helix-robotics",
        "Real-time detection, tracking and pose estimation for robots. C++17 with Python bindings.",
        ("computer-vision", "robotics", "object-detection", "onnx", "cpp"),
        "C++",
        6120,
        48,
        "ml",
        "2020-01-09",
        bots=("github-actions[bot]",),
        license="bsd-3-clause",
        pushed_mean_days=4,
        commit_gap_days=2.0,
    ),
    _RepoSpec(
        "pipewright",
        "pipewright",
        "mlops-collective",
        "Declarative ML pipelines: version data, train, evaluate and deploy from one YAML file.",
        ("mlops", "machine-learning", "pipelines", "kubernetes", "data-science"),
        "Python",
        4310,
        40,
        "ml",
        "2021-02-17",
        bots=("renovate[bot]", "github-actions[bot]"),
        license="apache-2.0",
        pushed_mean_days=2,
        commit_gap_days=1.5,
    ),
    _RepoSpec(
        "jaxformer",
        "jaxformer",
        "tessellate-dev",
        "Minimal, hackable transformer implementations in JAX and Flax, tuned for TPUs.",
        ("jax", "flax", "transformers", "deep-learning", "tpu"),
        "Python",
        3212,
        35,
        "ml",
        "2021-10-30",
        bots=("pre-commit-ci[bot]",),
        license="apache-2.0",
        pushed_mean_days=6,
        commit_gap_days=2.5,
    ),
    _RepoSpec(
        "tinydiff",
        "tiny-diffusion",
        None,
        "A from-scratch denoising diffusion model in a few notebooks, for learning and teaching.",
        ("diffusion-models", "deep-learning", "pytorch", "generative-ai", "tutorial"),
        "Jupyter Notebook",
        2718,
        22,
        "ml",
        "2023-02-11",
        pushed_mean_days=12,
        commit_gap_days=4.0,
    ),
    _RepoSpec(
        "featherstore",
        "featherstore",
        "deepwell",
        "A fast feature store for online ML serving, written in Rust, with a Python client.",
        ("mlops", "feature-store", "rust", "machine-learning", "data-engineering"),
        "Rust",
        1934,
        27,
        "ml",
        "2022-04-05",
        bots=("renovate[bot]", "dependabot[bot]"),
        license="apache-2.0",
        pushed_mean_days=5,
        commit_gap_days=2.0,
    ),
    _RepoSpec(
        "tabbench",
        "tabular-bench",
        "orbital-data",
        "Reproducible benchmarks for gradient-boosted trees vs. deep models on tabular data.",
        ("data-science", "machine-learning", "benchmark", "xgboost", "tabular-data"),
        "Python",
        1127,
        18,
        "ml",
        "2023-06-19",
        bots=("dependabot[bot]",),
        pushed_mean_days=14,
        commit_gap_days=4.0,
    ),
    _RepoSpec(
        "segmenta",
        "segmenta",
        "cobalt-vision",
        "Promptable image and video segmentation with lightweight adapters.",
        ("computer-vision", "segmentation", "pytorch", "deep-learning", "vision-transformer"),
        "Python",
        862,
        30,
        "ml",
        "2024-01-08",
        bots=("pre-commit-ci[bot]", "dependabot[bot]"),
        license="apache-2.0",
        pushed_mean_days=3,
        commit_gap_days=1.5,
    ),
    _RepoSpec(
        "kotoba",
        "kotoba-tokenizers",
        None,
        "Morphology-aware subword tokenizers for Japanese and Korean, in Rust with PyO3 bindings.",
        ("nlp", "tokenizer", "rust", "japanese", "korean"),
        "Rust",
        641,
        12,
        "ml",
        "2022-11-27",
        owner_cultures=("jp", "kr"),
        pushed_mean_days=20,
        commit_gap_days=5.0,
    ),
    _RepoSpec(
        "clinicalner",
        "clinical-ner",
        "parabola-health",
        "Named entity recognition for clinical notes, with de-identification baked in.",
        ("nlp", "healthcare", "named-entity-recognition", "transformers", "machine-learning"),
        "Python",
        408,
        15,
        "ml",
        "2023-09-02",
        bots=("dependabot[bot]",),
        license="apache-2.0",
        pushed_mean_days=10,
        commit_gap_days=4.0,
    ),
    _RepoSpec(
        "ferrite",
        "ferrite",
        "ferrite-ml",
        "Portable CPU inference for quantized transformer models. No Python required.",
        ("llm", "inference", "quantization", "rust", "machine-learning"),
        "Rust",
        2287,
        10,
        "ml",
        "2023-04-14",
        bots=("renovate[bot]",),
        pushed_mean_days=4,
        commit_gap_days=2.0,
    ),
    _RepoSpec(
        "evalkit",
        "evalkit",
        None,
        "Small, opinionated harness for evaluating LLMs on your own tasks.",
        ("llm", "evaluation", "nlp", "benchmark", "python"),
        "Python",
        324,
        9,
        "ml",
        "2024-05-30",
        bots=("github-actions[bot]",),
        pushed_mean_days=25,
        commit_gap_days=5.0,
    ),
    _RepoSpec(
        "nlpnotebooks",
        "nlp-course-notebooks",
        None,
        "Notebooks for my applied NLP course: embeddings, fine-tuning, RAG.",
        ("nlp", "jupyter-notebook", "education", "data-science"),
        "Jupyter Notebook",
        57,
        3,
        "ml",
        "2024-09-12",
        license=None,
        pushed_mean_days=85,
        commit_gap_days=6.0,
    ),
    _RepoSpec(
        "quillemb",
        "quill-embeddings",
        "quillon",
        "Sentence embeddings for Quill (superseded by quill-nlp 4.0; kept for reference).",
        ("nlp", "embeddings", "machine-learning", "pytorch"),
        "Python",
        1389,
        25,
        "ml",
        "2019-11-05",
        bots=("dependabot[bot]",),
        archived_days=640,
        commit_gap_days=6.0,
    ),
    _RepoSpec(
        "quillfork",
        "quill-nlp",
        None,
        "Industrial-strength tokenization, tagging and entity linking for 60+ languages.",
        ("nlp", "natural-language-processing", "transformers", "tokenizer", "machine-learning"),
        "Python",
        11,
        20,
        "ml",
        "2025-06-03",
        bots=("dependabot[bot]",),
        fork_of="quill",
        pushed_mean_days=140,
        commit_gap_days=3.0,
    ),
    _RepoSpec(
        "runlens",
        "runlens",
        "mlops-collective",
        "A snappy web UI for comparing experiment runs, metrics and artifacts.",
        ("mlops", "experiment-tracking", "visualization", "react", "typescript"),
        "TypeScript",
        776,
        14,
        "ml",
        "2023-03-22",
        bots=("dependabot[bot]",),
        pushed_mean_days=7,
        web_affinity=1.0,
        commit_gap_days=3.0,
    ),
    _RepoSpec(
        "paperback",
        "hugo-paperback",
        "inkwell-themes",
        "A minimal, fast Hugo theme for personal blogs and documentation sites.",
        ("hugo", "hugo-theme", "static-site", "blog", "css"),
        "HTML",
        1246,
        16,
        "web",
        "2020-07-15",
        bots=("dependabot[bot]",),
        pushed_mean_days=18,
        commit_gap_days=5.0,
    ),
    _RepoSpec(
        "lanternfall",
        "lanternfall",
        "pixelmoth",
        "A cozy roguelike about lighting lanterns in a haunted forest. Built with Godot 4.",
        ("game", "godot", "roguelike", "gamedev", "pixel-art"),
        "GDScript",
        538,
        8,
        "game",
        "2023-10-31",
        license="gpl-3.0",
        homepage="https://pixelmoth.games/lanternfall",
        pushed_mean_days=6,
        commit_gap_days=3.0,
    ),
)

# When fewer repositories are requested, keep the pagination-forcing and trap repositories first.
_PRIORITY = ("tensorforge", "kestrel", "quillemb", "quillfork", "paperback", "lanternfall", "quill")

_EXTRA_PREFIX = (
    "neuro",
    "grad",
    "latent",
    "sparse",
    "vector",
    "token",
    "kernel",
    "quant",
    "flux",
    "mosaic",
    "prism",
    "delta",
    "echo",
    "orbit",
    "cinder",
)
_EXTRA_SUFFIX = ("kit", "lab", "flow", "bench", "serve", "hub", "ops", "lens", "cast", "net", "loom", "scope")
_EXTRA_THEMES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Utilities for {what} with PyTorch.", ("pytorch", "deep-learning", "machine-learning"), "Python"),
    ("{what}, the boring way: small, tested, documented.", ("machine-learning", "mlops"), "Python"),
    ("Fast {what} kernels in C++/CUDA.", ("cuda", "deep-learning", "performance"), "C++"),
    ("{what} experiments and write-ups.", ("data-science", "research"), "Jupyter Notebook"),
    ("{what} in JAX.", ("jax", "deep-learning", "research"), "Python"),
    ("A Rust toolkit for {what}.", ("rust", "machine-learning", "inference"), "Rust"),
    ("Transformers for {what}.", ("transformers", "nlp", "llm"), "Python"),
    ("{what} for images and video.", ("computer-vision", "pytorch"), "Python"),
)
_EXTRA_WHAT = (
    "active learning",
    "model distillation",
    "embedding search",
    "data labeling",
    "hyperparameter search",
    "LoRA fine-tuning",
    "speech recognition",
    "time-series forecasting",
    "anomaly detection",
    "graph learning",
    "model serving",
    "prompt evaluation",
    "synthetic data",
    "dataset versioning",
)

_BOTS: tuple[tuple[str, int, str, str, str], ...] = (
    # login, id, type, created_at, commit address
    ("dependabot[bot]", 49699333, "Bot", "2019-04-16T22:34:25Z", "49699333+dependabot[bot]@users.noreply.github.com"),
    (
        "github-actions[bot]",
        41898282,
        "Bot",
        "2018-07-30T09:30:16Z",
        "41898282+github-actions[bot]@users.noreply.github.com",
    ),
    (
        "pre-commit-ci[bot]",
        66853113,
        "Bot",
        "2020-05-13T16:42:29Z",
        "66853113+pre-commit-ci[bot]@users.noreply.github.com",
    ),
    # Trap: a "[bot]" login whose account type says "User".
    ("renovate[bot]", 29139614, "User", "2017-06-02T07:04:12Z", "29139614+renovate[bot]@users.noreply.github.com"),
    # Trap: type "Bot" without the "[bot]" suffix, and a real-looking commit address.
    ("ml-release-bot", 80116532, "Bot", "2021-03-10T11:20:44Z", "releases@lumenlabs.dev"),
)

_ID_CURVE: tuple[tuple[datetime, int], ...] = (
    (datetime(2008, 1, 1, tzinfo=UTC), 1),
    (datetime(2010, 1, 1, tzinfo=UTC), 170_000),
    (datetime(2012, 1, 1, tzinfo=UTC), 1_200_000),
    (datetime(2014, 1, 1, tzinfo=UTC), 6_000_000),
    (datetime(2016, 1, 1, tzinfo=UTC), 16_000_000),
    (datetime(2018, 1, 1, tzinfo=UTC), 35_000_000),
    (datetime(2020, 1, 1, tzinfo=UTC), 59_000_000),
    (datetime(2022, 1, 1, tzinfo=UTC), 96_000_000),
    (datetime(2024, 1, 1, tzinfo=UTC), 153_000_000),
    (datetime(2027, 1, 1, tzinfo=UTC), 245_000_000),
)


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass
class _Person:
    login: str
    uid: int
    name: str | None
    first: str  # ascii, lower case
    last: str  # ascii, lower case
    culture: _Culture
    kind: str  # "ml" | "web" | "noise"
    weight: float
    created_at: datetime
    dormant: bool = False
    company: _Company | None = None
    company_field: str | None = None
    university: str | None = None
    location: str | None = None
    bio: str | None = None
    blog: str = ""
    twitter: str | None = None
    hireable: bool | None = None
    personal_domain: str = ""
    profile_email: str | None = None
    email_kind: str = "null"
    commit_emails: list[str] = field(default_factory=list)
    updated_at: datetime = TAKEN_AT
    public_repos: int = 0
    public_gists: int = 0
    followers: int = 0
    following: int = 0

    @property
    def display(self) -> str:
        return self.name or self.login

    def noreply(self) -> str:
        if self.created_at < _NEW_NOREPLY_SINCE and self.uid % 3 == 0:
            return f"{self.login}@{NOREPLY_DOMAIN}"
        return f"{self.uid}+{self.login}@{NOREPLY_DOMAIN}"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).lower()


def _id_for(created: datetime, rng: random.Random) -> int:
    for (t0, i0), (t1, i1) in itertools.pairwise(_ID_CURVE):
        if created <= t1:
            frac = (created - t0).total_seconds() / (t1 - t0).total_seconds()
            base = i0 + frac * (i1 - i0)
            return max(1, int(base * rng.uniform(0.985, 1.015)))
    return _ID_CURVE[-1][1]


class _People:
    """Generates the people, keeping logins and ids unique."""

    def __init__(self, rng: random.Random, reserved: Sequence[str], reserved_ids: Sequence[int]) -> None:
        self.rng = rng
        self.taken: dict[str, None] = {login.lower(): None for login in reserved}
        self.ids: dict[int, None] = dict.fromkeys(reserved_ids)

    def claim_login(self, candidate: str) -> str:
        candidate = candidate.strip("-")[:36].strip("-") or "user"
        login = candidate
        while login.lower() in self.taken:
            login = f"{candidate}{self.rng.randint(1, 99)}"
        self.taken[login.lower()] = None
        return login

    def claim_id(self, created: datetime) -> int:
        uid = _id_for(created, self.rng)
        while uid in self.ids:
            uid += self.rng.randint(1, 997)
        self.ids[uid] = None
        return uid

    def login_for(self, first: str, last: str) -> str:
        r = self.rng
        style = r.random()
        if style < 0.2:
            cand = f"{first}{last}"
        elif style < 0.38:
            cand = f"{first}-{last}"
        elif style < 0.52:
            cand = f"{first[0]}{last}"
        elif style < 0.60:
            cand = f"{last}{first[0]}"
        elif style < 0.68:
            cand = f"{first}{last[0]}"
        elif style < 0.78:
            cand = f"{first}-{r.choice(_LOGIN_WORDS)}"
        elif style < 0.88:
            cand = f"{first}{last}{r.randint(0, 99):02d}"
        else:
            sep = r.choice(("", "-"))
            cand = f"{r.choice(_ADJ)}{sep}{r.choice(_NOUN)}"
        return self.claim_login(cand)

    def make(
        self,
        kind: str,
        *,
        culture: _Culture | None = None,
        given: str | None = None,
        family: str | None = None,
        login: str | None = None,
        created: datetime | None = None,
    ) -> _Person:
        r = self.rng
        if culture is None:
            culture = r.choices(_CULTURES, weights=[c.weight for c in _CULTURES])[0]
        raw_given = given or r.choice(culture.given)
        female = raw_given.endswith("*")
        given_name = raw_given.rstrip("*")
        raw_family = family or r.choice(culture.family)
        if "|" in raw_family:
            male_form, female_form = raw_family.split("|")
            family_name = female_form if female else male_form
        else:
            family_name = raw_family
        first, last = _ascii(given_name), _ascii(family_name)
        if created is None:
            created = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(
                days=r.triangular(0, (datetime(2025, 6, 1, tzinfo=UTC) - datetime(2009, 1, 1, tzinfo=UTC)).days, 3400),
                seconds=r.randint(0, 86399),
            )
        style = r.random()
        name: str | None
        if style < 0.07:
            name = None
        elif style < 0.11:
            name = f"{given_name} {family_name}".lower()
        elif style < 0.15:
            name = f"{given_name} {family_name[0]}."
        elif style < 0.21 and culture.family_first:
            name = f"{family_name} {given_name}"
        else:
            name = f"{given_name} {family_name}"
        weight = min(12.0, r.paretovariate(1.3))
        return _Person(
            login=login if login is not None else self.login_for(first, last),
            uid=self.claim_id(created),
            name=name,
            first=first,
            last=last,
            culture=culture,
            kind=kind,
            weight=weight,
            created_at=created.replace(microsecond=0),
        )


def _ml_bio(p: _Person, r: random.Random) -> str | None:
    topic, topic2 = r.sample(_ML_TOPICS, 2)
    company = p.company.display if p.company else None
    handle = f"@{p.company.handle}" if p.company and p.company.handle else company
    uni = p.university
    options: list[str] = []
    if company:
        options += [
            f"ML engineer at {company}",
            f"Machine learning engineer {handle}. Working on {topic}.",
            f"Research scientist at {company}. Previously {r.choice(_UNIVERSITIES)}.",
            f"Building {topic} infra at {company}",
            f"Computer vision @ {company}",
            f"Staff engineer, ML infrastructure @ {company}",
            f"Applied scientist ({topic}). Views are my own.",
        ]
    if uni:
        options += [
            f"PhD student working on {topic} at {uni}",
            f"PhD candidate @ {uni} · {topic}",
            f"Postdoc at {uni}. {_upper_first(topic)}.",
            f"MSc student at {uni}, interested in {topic}",
        ]
    options += [
        f"Senior ML engineer. {_upper_first(topic)}, {topic2}.",
        "Data scientist turned MLOps engineer",
        f"{_upper_first(topic)} | {topic2} | open source",
        "Software engineer. Mostly Rust and CUDA these days.",
        "NLP researcher. Opinions my own.",
        "Recovering physicist, now training models.",
        f"I make GPUs go brrr. {_upper_first(topic)}.",
        "Open source maintainer. Python, PyTorch, tea.",
        f"Kaggle grandmaster-in-training. {_upper_first(topic)}.",
    ]
    return r.choice(options)


def _web_bio(p: _Person, r: random.Random) -> str | None:
    company = p.company.display if p.company else "a small studio"
    return r.choice(
        (
            "Frontend developer. Hugo, Eleventy and far too much CSS.",
            "Designer who codes.",
            "Indie game dev. Making cozy games in Godot.",
            f"Full-stack developer at {company}",
            "Pixel artist & gamedev",
            "Accessibility nerd, static sites, typography.",
            "Game programmer. Shaders, tools, coffee.",
            "Web developer (TypeScript, React, Svelte)",
        )
    )


def _noise_bio(r: random.Random) -> str | None:
    return r.choice(
        (
            "Software engineer",
            "Just here to learn",
            "Student",
            "Backend engineer (Go, Postgres)",
            "DevOps, Kubernetes, coffee",
            "Hobbyist programmer",
            "Java developer",
            None,
            None,
        )
    )


def _freemail_address(p: _Person, r: random.Random) -> str:
    f, l_ = p.first, p.last
    local = r.choice(
        (
            f"{f}.{l_}",
            f"{f}{l_}",
            f"{f[0]}{l_}",
            f"{f}_{l_}",
            f"{f}.{l_}{r.randint(1, 99)}",
            f"{f}{l_}{r.randint(80, 99)}",
            p.login.lower().replace("-", "."),
        )
    )
    return f"{local}@{r.choice(p.culture.freemail)}"


def _personal_address(p: _Person, r: random.Random) -> str:
    local = r.choice((p.first, p.first, "me", f"{p.first}.{p.last}", "mail", p.first[0]))
    return f"{local}@{p.personal_domain}"


def _work_address(p: _Person, r: random.Random) -> str | None:
    if p.company is None or p.company.domain is None:
        return None
    local = r.choice((f"{p.first}.{p.last}", f"{p.first}", f"{p.first[0]}{p.last}", f"{p.first}.{p.last}"))
    return f"{local}@{p.company.domain}"


def _decorate(p: _Person, r: random.Random, domains: dict[str, None]) -> None:
    """Company, location, bio, links and counters (everything but the e-mail addresses)."""
    tld = r.choice(p.culture.tlds)
    p.personal_domain = r.choice(
        (f"{p.first}{p.last}.{tld}", f"{p.first}-{p.last}.{tld}", f"{p.last}.{tld}", f"{p.first}.{tld}")
    )
    while p.personal_domain in domains:  # one personal domain per person
        label, _, suffix = p.personal_domain.partition(".")
        p.personal_domain = f"{label}{r.randint(2, 99)}.{suffix}"
    domains[p.personal_domain] = None
    roll = r.random()
    if p.kind == "ml":
        if roll < 0.55:
            p.company = r.choice([c for c in _COMPANIES if c.kind == "ml"] + list(_COMPANIES[:4]))
        elif roll < 0.72:
            p.university = r.choice(_UNIVERSITIES)
        elif roll < 0.80:
            p.company_field = r.choice(_FREELANCE)
    elif p.kind == "web":
        if roll < 0.6:
            p.company = r.choice([c for c in _COMPANIES if c.kind in ("web", "other")])
        elif roll < 0.75:
            p.company_field = r.choice(_FREELANCE)
    elif roll < 0.45:
        p.company = r.choice([c for c in _COMPANIES if c.kind == "other"])
    if p.company is not None:
        p.company_field = f"@{p.company.handle}" if p.company.handle and r.random() < 0.5 else p.company.display
    elif p.university is not None:
        p.company_field = p.university if r.random() < 0.7 else None

    loc_roll = r.random()
    if loc_roll < 0.18:
        p.location = None
    elif loc_roll < 0.22:
        p.location = r.choice(_QUIRKY_LOCATIONS)
    elif loc_roll < 0.42:
        p.location = r.choice(_GLOBAL_HUBS)
    else:
        p.location = r.choice(p.culture.cities)

    bio_roll = r.random()
    if bio_roll < 0.28:
        p.bio = None
    elif p.kind == "ml":
        p.bio = _ml_bio(p, r)
    elif p.kind == "web":
        p.bio = _web_bio(p, r)
    else:
        p.bio = _noise_bio(r)

    blog_roll = r.random()
    if blog_roll < 0.15:
        p.blog = f"https://{p.personal_domain}"
    elif blog_roll < 0.25:
        p.blog = f"https://{p.login.lower()}.github.io"
    elif blog_roll < 0.29:
        p.blog = f"medium.com/@{p.login.lower()}"
    elif blog_roll < 0.33 and p.company is not None and p.company.domain:
        p.blog = f"https://{p.company.domain}"
    if r.random() < 0.22:
        p.twitter = r.choice(
            (f"{p.first}{p.last}", f"{p.first}_{p.last}", p.login.lower(), f"{p.first}_{r.choice(_LOGIN_WORDS)}")
        )[:15]
    p.hireable = True if r.random() < 0.2 else None
    p.public_repos = int(min(420, 2 + p.weight * r.uniform(2, 9) + r.expovariate(1 / 8)))
    p.public_gists = int(r.expovariate(1 / 4)) if r.random() < 0.6 else 0
    p.followers = int(min(48_000, p.weight**1.6 * r.lognormvariate(2.3, 1.0)))
    p.following = int(min(900, r.expovariate(1 / 25)))
    if p.dormant:
        p.updated_at = _days_ago(r.uniform(480, 900))
    else:
        p.updated_at = _days_ago(r.expovariate(1 / 25) if p.kind != "noise" else r.uniform(0, 700))
    if p.updated_at < p.created_at:
        p.updated_at = p.created_at + timedelta(days=r.uniform(1, 30))


class _Mailboxes:
    """Hands out addresses so that no two people end up with the same one by accident."""

    def __init__(self, r: random.Random) -> None:
        self.r = r
        self.owner: dict[str, int] = {}

    def claim(self, address: str, p: _Person) -> str:
        local, _, domain = address.partition("@")
        candidate = address
        while self.owner.get(candidate.lower(), p.uid) != p.uid:
            candidate = f"{local}{self.r.randint(2, 99)}@{domain}"
        self.owner[candidate.lower()] = p.uid
        return candidate

    def role(self, p: _Person) -> str:
        domains = [p.company.domain] if p.company is not None and p.company.domain else []
        domains.append(p.personal_domain)
        for domain in domains:
            roles = ("info", "support", "contact") if domain != p.personal_domain else ("contact", "hello", "info")
            for role in self.r.sample(roles, len(roles)):
                address = f"{role}@{domain}"
                if address not in self.owner:
                    return self.claim(address, p)
        return self.claim(f"contact@{p.personal_domain}", p)


def _assign_emails(people: list[_Person], planted: list[_Person], r: random.Random) -> None:
    """Profile addresses plus the addresses each person uses on commits."""
    n = len(people) + len(planted)
    box = _Mailboxes(r)
    candidates = [p for p in people if p.kind == "ml" and not p.dormant]
    r.shuffle(candidates)
    n_noreply = max(1, round(n * 0.025))
    n_role = max(1, round(n * 0.02))
    n_invalid = 2 if n >= 20 else 1
    specials = candidates[: n_noreply + n_role + n_invalid]
    special_ids = {id(p) for p in specials}

    for p in specials[:n_noreply]:
        p.email_kind = "noreply"
        p.profile_email = p.noreply()
        p.commit_emails = [p.profile_email]
    for p in specials[n_noreply : n_noreply + n_role]:
        p.email_kind = "role"
        p.profile_email = box.role(p)
        p.commit_emails = [box.claim(_freemail_address(p, r), p)]
    for i, p in enumerate(specials[n_noreply + n_role :]):
        p.email_kind = "invalid"
        if i % 2 == 0:
            p.profile_email = f"{p.first}.{p.last}@"
            p.commit_emails = [box.claim(f"{p.first}.{p.last}@{r.choice(p.culture.freemail)}", p)]
        else:
            p.profile_email = f"{p.first} at {p.personal_domain}"
            p.commit_emails = [p.noreply()]

    rest = [p for p in people if id(p) not in special_ids]
    n_null = round(n * 0.30)
    n_hidden = round(n * 0.22)
    labels = ["hidden"] * n_hidden + ["noreply_only"] * max(0, n_null - n_hidden)
    labels += ["public"] * max(0, len(rest) - len(labels))
    labels = labels[: len(rest)]
    r.shuffle(labels)
    for p, label in zip(rest, labels, strict=True):
        work_raw = _work_address(p, r)
        work = box.claim(work_raw, p) if work_raw is not None else None
        if label == "public":
            p.email_kind = "public"
            src = r.random()
            if src < 0.42 or (src < 0.72 and work is None):
                p.profile_email = box.claim(_freemail_address(p, r), p)
            elif src < 0.72 and work is not None:
                p.profile_email = work
            else:
                p.profile_email = box.claim(_personal_address(p, r), p)
            how = r.random()
            if how < 0.65:
                p.commit_emails = [p.profile_email]
            elif how < 0.82:
                p.commit_emails = [p.noreply()]
            else:
                other = work if work and work != p.profile_email else box.claim(_freemail_address(p, r), p)
                p.commit_emails = [p.profile_email, other]
        elif label == "hidden":
            p.email_kind = "null"
            p.profile_email = None
            first = work if work is not None and r.random() < 0.6 else box.claim(_freemail_address(p, r), p)
            p.commit_emails = [first]
            if r.random() < 0.25:
                p.commit_emails.append(p.noreply())
        else:
            p.email_kind = "null"
            p.profile_email = None
            p.commit_emails = [p.noreply()]
    # One person with two accounts; the profile addresses differ only in case.
    if len(planted) == 2:
        personal, work_acct = planted
        personal.email_kind = work_acct.email_kind = "public"
        personal.profile_email = "Priya.N@example.org"
        work_acct.profile_email = "priya.n@example.org"
        personal.commit_emails = ["Priya.N@example.org"]
        work_acct.commit_emails = ["priya.nair@kestrel-ai.dev", work_acct.noreply()]


def _make_people(count: int, r: random.Random) -> list[_Person]:
    """`count` people: ML folk (a few dormant), web/game developers and non-contributing noise."""
    reserved = [b[0] for b in _BOTS] + [c.handle for c in _COMPANIES if c.handle]
    reserved += ["mlops-collective"]
    gen = _People(r, reserved, [b[1] for b in _BOTS])
    people: list[_Person] = []
    planted: list[_Person] = []
    india = next(c for c in _CULTURES if c.key == "in")
    hungary = next(c for c in _CULTURES if c.key == "hu")
    if count >= 10:
        a = gen.make(
            "ml",
            culture=india,
            given="Priya*",
            family="Nair",
            login=gen.claim_login("priya-nair"),
            created=datetime(2014, 2, 9, 8, 12, 40, tzinfo=UTC),
        )
        b = gen.make(
            "ml",
            culture=india,
            given="Priya*",
            family="Nair",
            login=gen.claim_login("pnair-kestrel"),
            created=datetime(2023, 1, 16, 9, 3, 5, tzinfo=UTC),
        )
        a.name = b.name = "Priya Nair"
        a.weight, b.weight = 4.0, 2.5
        planted = [a, b]
        # Trap for substring bot detection: a human whose login starts with "bot".
        people.append(
            gen.make("ml", culture=hungary, given="Botond", family="Szabó", login=gen.claim_login("botond-szabo"))
        )
    n_noise = round(count * 0.05)
    n_web = max(2, round(count * 0.08))
    n_dormant = max(1, round(count * 0.03))
    while len(people) + len(planted) < count:
        i = len(people) + len(planted)
        if i < count - n_noise - n_web:
            kind = "ml"
        elif i < count - n_noise:
            kind = "web"
        else:
            kind = "noise"
        people.append(gen.make(kind))
    r.shuffle(people)
    ml = [p for p in people if p.kind == "ml" and p.login != "botond-szabo"]
    for p in ml[:n_dormant]:
        p.dormant = True
        p.weight = max(p.weight, 1.5)
    domains: dict[str, None] = {}
    for p in people + planted:
        _decorate(p, r, domains)
    if planted:
        kestrel = next(c for c in _COMPANIES if c.handle == "kestrel-ai")
        for p in planted:
            p.location = "Bengaluru, India"
        work_acct = planted[1]
        work_acct.company, work_acct.university = kestrel, None
        work_acct.company_field = "@kestrel-ai"
        work_acct.bio = "ML engineer at Kestrel AI (work account)"
    _assign_emails(people, planted, r)
    return planted + people


# --------------------------------------------------------------------------------------------
# Repositories
# --------------------------------------------------------------------------------------------


def _select_specs(count: int, r: random.Random) -> list[_RepoSpec]:
    if count <= len(_BASE_REPOS):
        chosen = [s.key for s in _BASE_REPOS if s.key in _PRIORITY]
        chosen.sort(key=_PRIORITY.index)
        chosen += [s.key for s in _BASE_REPOS if s.key not in _PRIORITY]
        keep = set(chosen[:count])
        return [s for s in _BASE_REPOS if s.key in keep]
    specs = list(_BASE_REPOS)
    used = {s.name for s in specs}
    ml_orgs = [c.handle for c in _COMPANIES if c.kind == "ml" and c.handle]
    while len(specs) < count:
        name = f"{r.choice(_EXTRA_PREFIX)}{r.choice(_EXTRA_SUFFIX)}"
        if name in used:
            name = f"{name}-{r.choice(('py', 'rs', 'x', 'lite', 'next'))}"
            if name in used:
                continue
        used.add(name)
        template, topics, language = r.choice(_EXTRA_THEMES)
        what = r.choice(_EXTRA_WHAT)
        extra_topics = tuple(dict.fromkeys((*topics, what.lower().replace(" ", "-"))))
        stars = int(min(40_000, 50 + r.paretovariate(0.9) * 60))
        specs.append(
            _RepoSpec(
                key=f"extra-{name}",
                name=name,
                owner=r.choice(ml_orgs) if r.random() < 0.6 else None,
                description=_upper_first(template.format(what=what)),
                topics=extra_topics,
                language=language,
                stars=stars,
                contributors=int(min(90, 3 + r.paretovariate(1.1) * 4)),
                theme="ml",
                created=f"{r.randint(2018, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                bots=tuple(b for b in ("dependabot[bot]", "pre-commit-ci[bot]") if r.random() < 0.35),
                license=r.choice(("mit", "apache-2.0", "bsd-3-clause", None)),
                pushed_mean_days=r.choice((2.0, 6.0, 15.0, 40.0)),
                commit_gap_days=r.choice((1.0, 3.0, 6.0)),
            )
        )
    return specs


def _weighted_sample(pool: list[tuple[_Person, float]], k: int, r: random.Random) -> list[_Person]:
    """k items without replacement, probability proportional to weight (Efraimidis-Spirakis)."""
    keyed = [(r.random() ** (1.0 / w), i) for i, (_, w) in enumerate(pool) if w > 0]
    keyed.sort(reverse=True)
    return [pool[i][0] for _, i in keyed[:k]]


@dataclass
class _Repo:
    spec: _RepoSpec
    owner_login: str
    owner_type: str
    owner_person: _Person | None
    humans: list[_Person] = field(default_factory=list)
    contributions: dict[str, int] = field(default_factory=dict)
    pushed_at: datetime = TAKEN_AT


def _affinity(p: _Person, spec: _RepoSpec, owner_org: str | None) -> float:
    if p.kind == "noise":
        return 0.0
    if p.dormant:
        return 3.0 if spec.archived_days is not None else 0.0
    own_kind = "ml" if spec.theme == "ml" else "web"
    foreign = spec.web_affinity if spec.theme == "ml" else 0.08
    base = 1.0 if p.kind == own_kind else foreign
    if owner_org and p.company is not None and p.company.handle == owner_org:
        base *= 6.0
    return base


def _build_repos(specs: list[_RepoSpec], people: list[_Person], scale: float, r: random.Random) -> list[_Repo]:
    repos: list[_Repo] = []
    owners_used: dict[str, None] = {}
    ml_people = [p for p in people if p.kind == "ml" and not p.dormant and not p.login.startswith("pnair")]
    ml_people.sort(key=lambda p: -p.weight)
    for spec in specs:
        if spec.owner is not None:
            repos.append(_Repo(spec, spec.owner, "Organization", None))
            continue
        # Forks belong to ordinary contributors, originals to prolific ones.
        band = ml_people[len(ml_people) // 4 :] if spec.fork_of else ml_people[: max(1, len(ml_people) // 5)]
        choices = [p for p in band if p.login not in owners_used] or band or people
        if spec.owner_cultures:
            preferred = [p for p in ml_people if p.culture.key in spec.owner_cultures and p.login not in owners_used]
            choices = sorted(preferred, key=lambda p: -p.weight)[:5] or choices
        owner = r.choice(choices)
        owners_used[owner.login] = None
        repos.append(_Repo(spec, owner.login, "User", owner))

    by_key = {repo.spec.key: repo for repo in repos}
    order = sorted(repos, key=lambda repo: repo.spec.fork_of is not None)
    for repo in order:
        spec = repo.spec
        target = max(3, round(spec.contributors * scale)) - len(spec.bots)
        upstream = by_key.get(spec.fork_of) if spec.fork_of else None
        forced = [repo.owner_person] if repo.owner_person is not None else []
        skip = {id(p) for p in forced}
        if upstream is not None:
            pool = [(p, p.weight) for p in upstream.humans if id(p) not in skip]
        else:
            pool = [(p, p.weight * _affinity(p, spec, spec.owner)) for p in people if id(p) not in skip]
        picked = _weighted_sample(pool, max(0, target - len(forced)), r)
        repo.humans = forced + picked

    # Everyone who is meant to be a contributor contributes somewhere.
    covered = {id(p) for repo in repos for p in repo.humans}
    for p in people:
        if id(p) in covered or p.kind == "noise":
            continue
        options = [
            repo
            for repo in repos
            if repo.spec.contributors >= 15
            and repo.spec.fork_of is None
            and (p.dormant or repo.spec.archived_days is None)
            and _affinity(p, repo.spec, repo.spec.owner) >= 0.5
        ]
        if not options:
            options = [
                repo
                for repo in repos
                if repo.spec.contributors >= 15
                and repo.spec.fork_of is None
                and repo.spec.archived_days is None
                and not p.dormant
            ]
        if not options:
            continue
        repo = r.choices(options, weights=[len(o.humans) for o in options])[0]
        repo.humans.append(p)
        covered.add(id(p))

    for repo in repos:
        _assign_contributions(repo, r)
    return repos


def _assign_contributions(repo: _Repo, r: random.Random) -> None:
    spec = repo.spec
    top = 40 + math.sqrt(spec.stars) * r.uniform(3.0, 7.0)
    ranked = sorted(repo.humans, key=lambda p: -(p.weight * r.lognormvariate(0, 0.6)))
    if repo.owner_person is not None and spec.fork_of is None:
        ranked.remove(repo.owner_person)
        ranked.insert(0, repo.owner_person)
    counts: dict[str, int] = {}
    for rank, p in enumerate(ranked):
        value = top * (rank + 1) ** -1.35 * r.lognormvariate(0, 0.35)
        counts[p.login] = max(1, int(value))
    if spec.fork_of is not None and repo.owner_person is not None:
        counts[repo.owner_person.login] = r.randint(3, 14)
    bot_scale = {
        "dependabot[bot]": 0.12,
        "github-actions[bot]": 0.06,
        "pre-commit-ci[bot]": 0.05,
        "renovate[bot]": 0.15,
        "ml-release-bot": 0.04,
    }
    for bot in spec.bots:
        counts[bot] = max(2, int(top * bot_scale[bot] * r.uniform(0.4, 1.6)))
    repo.contributions = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower())))


# --------------------------------------------------------------------------------------------
# Commits
# --------------------------------------------------------------------------------------------

_ML_MESSAGES: tuple[str, ...] = (
    "Fix tokenizer padding for batch inference",
    "Add bf16 mixed-precision support to the trainer",
    "Speed up data loader by prefetching shards",
    "Fix off-by-one in attention mask for left padding",
    "Add gradient checkpointing option to {module}",
    "Refactor {module} config into dataclasses",
    "Handle empty batches in {module}",
    "Add ONNX export for {model}",
    "Document distributed training setup",
    "Fix CUDA OOM when evaluating with large batch sizes",
    "Pin numpy<2 until upstream wheels are fixed",
    "Support Python 3.13",
    "Drop Python 3.8",
    "Add benchmark script for {model} throughput",
    "Cache compiled kernels between runs",
    "Fix flaky test_{module}_determinism",
    "Use torch.compile when available",
    "Add LoRA adapters to {model}",
    "Improve error message when checkpoint keys mismatch",
    "Fix resume from checkpoint with FSDP",
    "Add streaming dataset support",
    "Make seed handling reproducible across workers",
    "Fix NaN loss with fp16 and large learning rates",
    "Add int8 weight-only quantization",
    "Update README with quickstart",
    "Fix typo in docs",
    "Bump version to {version}",
    "Add type hints to {module}",
    "Vectorize metric computation",
    "Fix memory leak in {module} hooks",
    "Add KV-cache eviction policy",
    "Support variable-length sequences in collator",
    "Add evaluation on held-out split",
    "Fix learning-rate warmup when resuming",
    "Log throughput and GPU memory to the progress bar",
    "Remove deprecated {module} API",
    "Add example notebook for fine-tuning {model}",
    "Fix Windows path handling in dataset cache",
    "Speed up beam search by 30%",
    "Add tests for {module}",
    "Raise a clear error for unsupported dtypes",
    "Fix label smoothing with ignore_index",
    "Add RoPE scaling options",
    "Move CI to GitHub-hosted GPU runners",
    "Fix race condition in async checkpoint writer",
)
_ML_MODULES = (
    "trainer",
    "tokenizer",
    "dataloader",
    "scheduler",
    "attention",
    "collator",
    "checkpoint",
    "metrics",
    "sampler",
    "optimizer",
    "exporter",
    "cli",
    "callbacks",
)
_ML_MODELS = (
    "ViT-B/16",
    "BERT-base",
    "Llama-style decoder",
    "ResNet-50",
    "Whisper-small",
    "T5",
    "the 7B model",
    "UNet",
    "CLIP",
)
_MESSAGE_BODIES = (
    "The previous behaviour silently dropped the last partial batch.",
    "This matches the reference implementation and fixes #{issue}.",
    "Closes #{issue}.",
    "Benchmarks on an A100 show a ~12% speed-up.",
    "See the discussion in #{issue} for context.",
)
_WEB_MESSAGES = (
    "Fix dark mode toggle on mobile",
    "Add Japanese i18n strings",
    "Improve Lighthouse score for post list",
    "Update SCSS variables for typography",
    "Add RSS feed template",
    "Fix table of contents anchors",
    "Support Hugo 0.139",
    "Add reading-time shortcode",
    "Fix image lazy-loading in gallery",
    "Tweak footer spacing",
    "Add Open Graph meta tags",
    "Fix broken pagination on tag pages",
)
_GAME_MESSAGES = (
    "Fix lantern light flicker in cave levels",
    "Add controller rumble support",
    "Balance goblin archer damage",
    "New tileset for the marsh biome",
    "Fix softlock when dying during a cutscene",
    "Add French translation",
    "Save settings between runs",
    "Improve pathfinding around water",
    "Add boss: the Hollow Warden",
    "Fix audio crackle on web export",
)
_PACKAGES: dict[str, tuple[str, ...]] = {
    "Python": ("torch", "numpy", "transformers", "pydantic", "pytest", "ruff", "requests", "tqdm", "scipy", "pyarrow"),
    "Jupyter Notebook": ("jupyterlab", "numpy", "matplotlib", "pandas", "scikit-learn"),
    "Rust": ("tokio", "serde", "pyo3", "rayon", "ndarray", "clap", "thiserror"),
    "C++": ("pybind11", "actions/checkout", "actions/cache", "conan"),
    "TypeScript": ("vite", "react", "typescript", "eslint", "@tanstack/react-query", "vitest"),
    "HTML": ("postcss", "autoprefixer", "actions/checkout", "peaceiris/actions-hugo"),
    "GDScript": ("actions/checkout",),
}
_UNLINKED = (
    ("root", "root@localhost"),
    ("Ubuntu", "ubuntu@ip-172-31-7-12.ec2.internal"),
    ("vagrant", "vagrant@vagrant"),
    ("CI", "ci@build-runner-04"),
)


def _version(r: random.Random) -> str:
    return f"{r.randint(0, 4)}.{r.randint(0, 20)}.{r.randint(0, 9)}"


def _upgrade(r: random.Random) -> tuple[str, str]:
    """An old and a newer version, as in a dependency bump."""
    major, minor, patch = r.randint(0, 4), r.randint(0, 20), r.randint(0, 9)
    patch_bump = r.random() < 0.6
    newer = f"{major}.{minor}.{patch + r.randint(1, 3)}" if patch_bump else f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch}", newer


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bot_message(bot: str, language: str, r: random.Random) -> str:
    pkg = r.choice(_PACKAGES.get(language, _PACKAGES["Python"]))
    a, b = _upgrade(r)
    if bot == "dependabot[bot]":
        suffix = r.choice(("", "", " in /docs", " in /.github/workflows"))
        return (
            f"Bump {pkg} from {a} to {b}{suffix}\n\nBumps {pkg} from {a} to {b}.\n\n"
            f"Signed-off-by: dependabot[bot] <support@github.com>"
        )
    if bot == "renovate[bot]":
        return r.choice(
            (
                f"chore(deps): update dependency {pkg} to v{b}",
                f"fix(deps): update {'rust crate' if language == 'Rust' else 'dependency'} {pkg} to {b}",
                "chore(deps): lock file maintenance",
            )
        )
    if bot == "pre-commit-ci[bot]":
        return r.choice(
            (
                "[pre-commit.ci] pre-commit autoupdate",
                "[pre-commit.ci] auto fixes from pre-commit.com hooks\n\nfor more "
                "information, see https://pre-commit.ci",
            )
        )
    if bot == "github-actions[bot]":
        return r.choice((f"Update changelog for v{b}", "Update API reference [skip ci]", "chore: regenerate lockfile"))
    return r.choice((f"Release v{b}", f"Bump version to {b} [release]"))


def _human_message(repo: _Repo, author: _Person, r: random.Random) -> str:
    theme = repo.spec.theme
    if r.random() < 0.12 and repo.humans:
        pr = r.randint(12, 2400)
        branch = (
            r.choice(("fix", "feat", "docs", "perf"))
            + "/"
            + r.choice(("padding", "tokenizer", "ci", "readme", "resume", "kv-cache", "typos", "dtype"))
        )
        return f"Merge pull request #{pr} from {author.login}/{branch}"
    if theme == "web":
        msg = r.choice(_WEB_MESSAGES)
    elif theme == "game":
        msg = r.choice(_GAME_MESSAGES)
    else:
        msg = r.choice(_ML_MESSAGES).format(
            module=r.choice(_ML_MODULES), model=r.choice(_ML_MODELS), version=_version(r)
        )
    if r.random() < 0.25:
        msg += "\n\n" + r.choice(_MESSAGE_BODIES).format(issue=r.randint(10, 2400))
    if r.random() < 0.02 and len(repo.humans) > 1:
        co = r.choice([p for p in repo.humans if p is not author])
        if co.commit_emails:
            msg += f"\n\nCo-authored-by: {co.display} <{co.commit_emails[0]}>"
    return msg


def _author_name(p: _Person, r: random.Random) -> str:
    roll = r.random()
    if p.name is None or roll < 0.06:
        return p.login
    if roll < 0.12:
        return f"{p.first.capitalize()} {p.last.capitalize()}"
    return p.name


def _build_commits(
    repo: _Repo, people_by_login: dict[str, _Person], bots: dict[str, tuple[str, int, str, str, str]], r: random.Random
) -> list[dict[str, Any]]:
    spec = repo.spec
    created = datetime.fromisoformat(spec.created).replace(tzinfo=UTC)
    n_contrib = len(repo.contributions)
    count = min(120, max(30, int(28 + n_contrib * 0.7 + r.randint(0, 20))))
    logins = list(repo.contributions)
    weights = [repo.contributions[login] ** 0.8 for login in logins]
    newest = repo.pushed_at - timedelta(minutes=r.randint(0, 90))
    moment = newest
    commits: list[dict[str, Any]] = []
    n_unlinked = r.choice((0, 0, 0, 1, 1, 2)) if spec.fork_of is None else 0
    unlinked_at = set(r.sample(range(count), n_unlinked))
    floor = created + timedelta(days=6)
    for i in range(count):
        if i:
            previous = moment
            moment -= timedelta(days=r.expovariate(1 / spec.commit_gap_days))
            if moment < floor:
                moment = previous - timedelta(minutes=r.randint(5, 50))
        sha = f"{r.getrandbits(160):040x}"
        date = _iso(moment)
        if i in unlinked_at:
            if r.random() < 0.5:
                name, email = r.choice(_UNLINKED)
            else:
                ghost = r.choice(repo.humans)
                name = ghost.display
                host = r.choice(("MacBook-Pro.local", "thinkpad", "devbox.lan"))
                email = f"{ghost.first}@{ghost.first}s-{host}"
            commits.append(
                {
                    "sha": sha,
                    "author_login": None,
                    "author_name": name,
                    "author_email": email,
                    "date": date,
                    "message": r.choice(_ML_MESSAGES if spec.theme == "ml" else _WEB_MESSAGES + _GAME_MESSAGES).format(
                        module=r.choice(_ML_MODULES), model=r.choice(_ML_MODELS), version=_version(r)
                    ),
                }
            )
            continue
        login = r.choices(logins, weights=weights)[0]
        if login in bots:
            _, _, _, _, address = bots[login]
            commits.append(
                {
                    "sha": sha,
                    "author_login": login,
                    "author_name": login,
                    "author_email": address,
                    "date": date,
                    "message": _bot_message(login, spec.language, r),
                }
            )
            continue
        person = people_by_login[login]
        emails = person.commit_emails or [person.noreply()]
        email = emails[0] if len(emails) == 1 or r.random() < 0.7 else r.choice(emails[1:])
        commits.append(
            {
                "sha": sha,
                "author_login": login,
                "author_name": _author_name(person, r),
                "author_email": email,
                "date": date,
                "message": _human_message(repo, person, r),
            }
        )
    return commits


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


def _user_record(p: _Person) -> dict[str, Any]:
    return {
        "login": p.login,
        "id": p.uid,
        "type": "User",
        "name": p.name,
        "company": p.company_field,
        "blog": p.blog,
        "location": p.location,
        "email": p.profile_email,
        "bio": p.bio,
        "twitter_username": p.twitter,
        "hireable": p.hireable,
        "public_repos": p.public_repos,
        "public_gists": p.public_gists,
        "followers": p.followers,
        "following": p.following,
        "created_at": _iso(p.created_at),
        "updated_at": _iso(p.updated_at),
    }


def _bot_record(bot: tuple[str, int, str, str, str]) -> dict[str, Any]:
    login, uid, kind, created, _ = bot
    return {
        "login": login,
        "id": uid,
        "type": kind,
        "name": None,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "bio": None,
        "twitter_username": None,
        "hireable": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created,
        "updated_at": created,
    }


def build_snapshot(repos: int = 20, people: int = 200, seed: int = 7) -> dict[str, Any]:
    """Build the snapshot in memory; the same arguments always give the same result.

    `repos` repositories (the first 20 are hand-written, more are synthesised) and `people`
    human accounts; the bot accounts come on top. Needs repos >= 1 and people >= 10.
    """
    if repos < 1:
        raise ValueError("repos must be >= 1")
    if people < 10:
        raise ValueError("people must be >= 10")
    r = random.Random(seed)
    persons = _make_people(people, r)
    specs = _select_specs(repos, r)
    scale = max(1.0, people / 200) ** 0.5  # bigger crowds, but not proportionally bigger repositories
    built = _build_repos(specs, persons, scale, r)
    people_by_login = {p.login: p for p in persons}
    bots = {b[0]: b for b in _BOTS}

    last_commit: dict[str, datetime] = {}
    repo_records: list[dict[str, Any]] = []
    for repo in built:
        spec = repo.spec
        created = datetime.fromisoformat(spec.created).replace(tzinfo=UTC)
        if spec.archived_days is not None:
            pushed = _days_ago(spec.archived_days + r.uniform(0, 5))
        else:
            days = min(r.expovariate(1 / spec.pushed_mean_days), max(58.0, spec.pushed_mean_days * 1.5))
            pushed = _days_ago(days + r.uniform(0, 1))
        pushed = max(pushed, created + timedelta(days=30))
        repo.pushed_at = pushed.replace(microsecond=0)
        updated = max(repo.pushed_at, _days_ago(r.uniform(0, 3)))
        commits = _build_commits(repo, people_by_login, bots, r)
        for c in commits:
            login = c["author_login"]
            if login in people_by_login:
                at = datetime.fromisoformat(c["date"].replace("Z", "+00:00"))
                last_commit[login] = max(last_commit.get(login, at), at)
        if spec.fork_of is not None:
            forks, issues = 0, 0
        else:
            forks = int(spec.stars * r.uniform(0.06, 0.16))
            issues = int(3 + spec.stars * r.uniform(0.004, 0.02))
        repo_records.append(
            {
                "full_name": f"{repo.owner_login}/{spec.name}",
                "name": spec.name,
                "owner": {"login": repo.owner_login, "type": repo.owner_type},
                "description": spec.description,
                "topics": list(spec.topics),
                "language": spec.language,
                "stargazers_count": spec.stars,
                "forks_count": forks,
                "watchers_count": spec.stars,  # the REST API mirrors stargazers here
                "open_issues_count": issues,
                "archived": spec.archived_days is not None,
                "fork": spec.fork_of is not None,
                "created_at": _iso(created + timedelta(seconds=r.randint(0, 86399))),
                "updated_at": _iso(updated),
                "pushed_at": _iso(repo.pushed_at),
                "default_branch": "main",
                "homepage": spec.homepage,
                "license": dict(_LICENSES[spec.license]) if spec.license else None,
                "contributors": [{"login": login, "contributions": n} for login, n in repo.contributions.items()],
                "commits": commits,
            }
        )

    users: dict[str, dict[str, Any]] = {}
    for bot in _BOTS:
        users[bot[0]] = _bot_record(bot)
    for p in persons:
        if p.login in last_commit and last_commit[p.login] > p.updated_at:
            p.updated_at = last_commit[p.login] + timedelta(hours=r.randint(1, 72))
            p.updated_at = min(p.updated_at, TAKEN_AT)
        users[p.login] = _user_record(p)
    # An account deleted after contributing: still listed as a contributor, but its profile is gone.
    repos_of = Counter(c["login"] for repo in repo_records for c in repo["contributors"])
    biggest = max(repo_records, key=lambda repo: len(repo["contributors"]))
    gone = min(
        (
            c["login"]
            for c in biggest["contributors"]
            if c["login"] in people_by_login
            and people_by_login[c["login"]].email_kind == "public"
            and repos_of[c["login"]] == 1
        ),
        key=str.lower,
    )
    del users[gone]
    users = dict(sorted(users.items(), key=lambda kv: kv[0].lower()))
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "taken_at": _iso(TAKEN_AT),
        "repos": repo_records,
        "users": users,
        "traps": _traps(repo_records, users, persons, gone),
    }


def _traps(
    repos: list[dict[str, Any]], users: dict[str, dict[str, Any]], persons: list[_Person], gone: str
) -> dict[str, list[Any]]:
    """Where the snapshot's traps are, so tests can check each one on any generated snapshot."""
    by_address: dict[str, list[str]] = {}
    for login, user in users.items():
        if user["email"]:
            by_address.setdefault(user["email"].lower(), []).append(login)
    return {
        "bots": sorted(login for login, u in users.items() if u["type"] == "Bot" or login.endswith("[bot]")),
        "bot_lookalikes": sorted(
            login
            for login, u in users.items()
            if login.lower().startswith("bot") and u["type"] == "User" and not login.endswith("[bot]")
        ),
        "noreply": sorted(p.login for p in persons if p.email_kind == "noreply" and p.login in users),
        "role": sorted(p.login for p in persons if p.email_kind == "role" and p.login in users),
        "invalid": sorted(p.login for p in persons if p.email_kind == "invalid" and p.login in users),
        "shared_address": sorted(sorted(logins) for logins in by_address.values() if len(logins) > 1),
        "missing_profile": [gone],
        "paginated_repos": [repo["full_name"] for repo in repos if len(repo["contributors"]) > 100],
        "archived": [repo["full_name"] for repo in repos if repo["archived"]],
        "forks": [repo["full_name"] for repo in repos if repo["fork"]],
    }


def write_snapshot(snapshot: dict[str, Any], out: Path) -> int:
    """Write the snapshot as UTF-8 JSON (indent=1); returns the size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    out.write_bytes(data)
    return len(data)


def _summary(snapshot: dict[str, Any], out: Path, size: int) -> str:
    users = snapshot["users"].values()
    bots = [u["login"] for u in users if u["type"] == "Bot" or u["login"].endswith("[bot]")]
    with_email = sum(1 for u in users if u["email"])
    lines = [
        f"wrote {out} ({size:,} bytes)",
        f"repos: {len(snapshot['repos'])}  users: {len(snapshot['users'])}  "
        f"bots: {len(bots)}  users with email: {with_email}",
    ]
    for repo in snapshot["repos"]:
        flags = "".join((" archived" if repo["archived"] else "", " fork" if repo["fork"] else ""))
        lines.append(
            f"  {repo['full_name']:<40} stars={repo['stargazers_count']:>6} "
            f"contributors={len(repo['contributors']):>3} "
            f"commits={len(repo['commits']):>3}{flags}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    parser.add_argument("--repos", type=int, default=20, help="number of repositories")
    parser.add_argument("--people", type=int, default=200, help="number of human accounts")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    args = parser.parse_args(argv)
    try:
        snapshot = build_snapshot(repos=args.repos, people=args.people, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    size = write_snapshot(snapshot, args.out)
    sys.stdout.write(_summary(snapshot, args.out, size) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
