"""The LLM adapter: the official OpenAI SDK pointed at OPENAI_BASE_URL, with every request and token counted.

The only module that talks to a model. The API key is handed to the SDK once and kept nowhere else.
The SDK (and its HTTP client) load when a client is built: runs without a key never pay for them.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pydantic

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ServiceError
from cmo_agent.core.usage import track

if TYPE_CHECKING:
    import httpx2
    from openai.types.chat import ChatCompletionMessageParam

__all__ = [
    "DEFAULT_BASE_URL",
    "LLMClient",
    "LLMError",
    "LLMMalformed",
    "LLMRefused",
    "LLMUnavailable",
    "llm_client_from",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BaseModelT = TypeVar("BaseModelT", bound=pydantic.BaseModel)


class LLMError(ServiceError):
    """The model gave no usable answer. Messages never carry the key or the server's error text."""


class LLMUnavailable(LLMError):
    """No answer: the endpoint was unreachable, timed out or answered an HTTP error (after the SDK's retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMRefused(LLMError):
    """The model refused, or the answer was withheld by a content filter."""


class LLMMalformed(LLMError):
    """The model answered, but not with something that fits the schema (empty, cut off, invalid)."""


class LLMClient:
    """Structured chat completions from one model, with counters of HTTP requests and reported tokens.

    Retries are the SDK's own (429, 408, 409, 5xx and connection errors, exponential backoff with
    jitter, `retry-after` honoured up to two minutes). Thread-safe; close() or use as a context manager.
    """

    def __init__(self, settings: Settings) -> None:
        if settings.openai_api_key is None:
            raise ValueError("LLMClient needs OPENAI_API_KEY")
        self.model = settings.llm_model
        self.base_url = settings.openai_base_url or DEFAULT_BASE_URL
        self.max_retries = settings.llm_max_retries
        self.structured_output = settings.llm_structured_output
        self._lock = threading.Lock()
        self._calls = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0
        track(self)
        import openai

        http_client = openai.DefaultHttpx2Client(
            timeout=settings.llm_timeout,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        self._sdk = openai.OpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=self.base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, base_url={self.base_url!r})"

    def __getstate__(self) -> NoReturn:
        raise TypeError("LLMClient holds credentials and cannot be serialized; keep Settings, build a client")

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._sdk.close()

    def counters(self) -> dict[str, int]:
        """Counter increments for RunState: requests sent (retries included) and tokens the API reported."""
        with self._lock:
            return {
                "llm_calls": self._calls,
                "llm_prompt_tokens": self._prompt_tokens,
                "llm_completion_tokens": self._completion_tokens,
            }

    def structured(self, system: str, user: str, schema: type[BaseModelT]) -> BaseModelT:
        """The model's answer to `user` under `system`, parsed into `schema`.

        With CMO_LLM_STRUCTURED_OUTPUT (the default) the schema is sent as a strict JSON schema
        (`chat.completions.parse`); without it, the plain chat-completions path asks for a JSON
        object, describes the schema in the system message and validates the answer here.
        Raises LLMUnavailable, LLMRefused or LLMMalformed (all LLMError).
        """
        import openai

        try:
            if self.structured_output:
                return self._parsed(system, user, schema)
            return self._json_mode(system, user, schema)
        except openai.APITimeoutError:
            raise LLMUnavailable(f"the LLM endpoint timed out ({self._attempts()})") from None
        except openai.APIConnectionError as exc:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            raise LLMUnavailable(f"the LLM endpoint is unreachable: {cause} ({self._attempts()})") from None
        except openai.APIStatusError as exc:
            # The server's message is left out: OpenAI's 401 text echoes part of the key.
            code = f" {exc.code}" if isinstance(exc.code, str) and exc.code.isidentifier() else ""
            raise LLMUnavailable(f"the LLM endpoint answered HTTP {exc.status_code}{code}", exc.status_code) from None
        except openai.ContentFilterFinishReasonError:
            raise LLMRefused("the answer was withheld by the content filter") from None
        except openai.LengthFinishReasonError:
            raise LLMMalformed("the answer was cut off at the token limit") from None
        except pydantic.ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {"type": "invalid", "loc": ()}
            where = ".".join(str(part) for part in first["loc"]) or "answer"
            raise LLMMalformed(f"the answer does not fit {schema.__name__}: {where}: {first['type']}") from None
        except openai.OpenAIError as exc:
            raise LLMError(f"the LLM call failed: {type(exc).__name__}") from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # A 200 whose body is no chat completion (an HTML page from a proxy, cut-off JSON): the
            # SDK fails while reading it. The endpoint's answer is unusable, not our run.
            raise LLMMalformed(f"the endpoint's answer is not a chat completion ({type(exc).__name__})") from None

    def _parsed(self, system: str, user: str, schema: type[BaseModelT]) -> BaseModelT:
        completion = self._sdk.chat.completions.parse(
            model=self.model, messages=_messages(system, user), response_format=schema
        )
        if not completion.choices:
            raise LLMMalformed("the answer has no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise LLMRefused(f"the model refused: {message.refusal[:200]!r}")
        if message.parsed is None:
            raise LLMMalformed("the answer is empty")
        return message.parsed

    def _json_mode(self, system: str, user: str, schema: type[BaseModelT]) -> BaseModelT:
        shape = json.dumps(schema.model_json_schema(), separators=(",", ":"))
        system = f"{system}\n\nAnswer with one JSON object that follows this JSON schema:\n{shape}"
        completion = self._sdk.chat.completions.create(
            model=self.model, messages=_messages(system, user), response_format={"type": "json_object"}
        )
        if not completion.choices:
            raise LLMMalformed("the answer has no choices")
        choice = completion.choices[0]
        if choice.message.refusal:
            raise LLMRefused(f"the model refused: {choice.message.refusal[:200]!r}")
        if choice.finish_reason == "content_filter":
            raise LLMRefused("the answer was withheld by the content filter")
        if choice.finish_reason == "length":
            raise LLMMalformed("the answer was cut off at the token limit")
        if not choice.message.content:
            raise LLMMalformed("the answer is empty")
        return schema.model_validate_json(choice.message.content)

    def _attempts(self) -> str:
        return f"{self.max_retries + 1} attempt{'s' if self.max_retries else ''}"

    def _on_request(self, request: httpx2.Request) -> None:
        with self._lock:
            self._calls += 1

    def _on_response(self, response: httpx2.Response) -> None:
        """Add the `usage` of every successful JSON answer, including those whose content is then rejected."""
        import httpx2  # loaded with the SDK already

        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return
        try:
            usage = json.loads(response.read()).get("usage") or {}
            prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        except (ValueError, TypeError, AttributeError, httpx2.HTTPError):
            return
        with self._lock:
            self._prompt_tokens += prompt
            self._completion_tokens += completion


def _messages(system: str, user: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def llm_client_from(settings: Settings) -> LLMClient | None:
    """A client for the configured model, or None without OPENAI_API_KEY."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        return None
    return LLMClient(settings)
