"""Request bodies and access rules of our HTTP servers, without a server: the
pydantic models' errors come out as the messages clients know (the servers'
own tests send some of these over HTTP), and the key and host rules."""

from __future__ import annotations

import pytest

from rag.serve.access import allowed_hosts, check_bind, check_key, is_loopback
from rag.serve.schema import ApiError, parse_chat_request
from rag.serve.embeddings import MAX_INPUTS, parse_embedding_request
from rag.settings import SettingsError

MODELS = ("rag", "rag-extractive")
USER = {"role": "user", "content": "Which resolutions were cited?"}


@pytest.mark.parametrize("body,status,message,param,code", [
    ([USER], 400, "the request body must be a JSON object, not an array", None, None),
    ({"model": "gpt-4", "messages": [USER], "stream": "yes"}, 404,
     "The model 'gpt-4' does not exist; available: rag, rag-extractive", "model", "model_not_found"),
    ({"model": "", "messages": [USER]}, 400, "'model' must be a non-empty string", "model", None),
    ({"messages": [USER], "stream": 1}, 400, "'stream' must be a boolean, not a number", "stream", None),
    ({"messages": [USER], "stream_options": {"include_usage": "yes"}}, 400,
     "'stream_options' must be an object like {\"include_usage\": true}", "stream_options", None),
    ({"messages": [USER], "temperature": True}, 400, "'temperature' must be a number between 0 and 2",
     "temperature", None),
    ({"messages": [USER], "top_p": 1.5}, 400, "'top_p' must be a number between 0 and 1", "top_p", None),
    ({"messages": [USER], "max_completion_tokens": 2.0}, 400, "'max_completion_tokens' must be a positive integer",
     "max_completion_tokens", None),
    ({"messages": [USER], "n": 2}, 400, "only n=1 is supported", "n", None),
    ({"model": "rag"}, 400, "'messages' must be a non-empty array of {role, content} objects", "messages", None),
    ({"messages": [USER, None]}, 400, "messages[1] must be an object with 'role' and 'content', not null",
     "messages[1]", None),
    ({"messages": [{"content": "hi"}]}, 400,
     "messages[0].role must be one of user, assistant, system, developer, tool; got 'None'", "messages[0]", None),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, 5]}]}, 400,
     "messages[0].content: only text parts are supported, not 'int'", "messages[0]", None),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400,
     "messages[0].content: only text parts are supported, not 'image_url'", "messages[0]", None),
    ({"messages": [{"role": "user", "content": {"text": "hi"}}]}, 400,
     "messages[0].content must be a string or a list of text parts, not an object", "messages[0]", None),
    ({"messages": [{"role": "system", "content": "Be brief."}, {"role": "tool", "content": "42"}]}, 400,
     "the last message must come from the user (it is the question)", "messages", None),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "  "}]}]}, 400,
     "question is empty: ask something about the corpus", "messages", "invalid_question"),
    ({"messages": [{"role": "user", "content": "x" * 31}]}, 400,
     "question is too long (31 characters; the limit is 30)", "messages", "invalid_question"),
])
def test_a_bad_chat_body_gets_the_first_problem_in_openai_words(body, status, message, param, code):
    with pytest.raises(ApiError) as err:
        parse_chat_request(body, models=MODELS, max_question_chars=30)
    assert (err.value.status, err.value.message, err.value.param, err.value.code) == (status, message, param, code)


def test_a_good_chat_body_gives_question_history_and_options():
    req = parse_chat_request({"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who went?"},
        {"role": "assistant", "content": "Tillerson [1].\n\nSources:\n[1] a.txt (0-9): \"Tillerson\""},
        {"role": "user", "content": [{"type": "text", "text": " And when?"}, {"type": "text", "text": "In 2017? "}]}],
        "stream": True, "stream_options": {"include_usage": True}, "temperature": 0, "max_tokens": 5,
        "n": 1, "tools": []}, models=MODELS)
    assert (req.model, req.question, req.stream, req.include_usage) == ("rag", "And when?\nIn 2017?", True, True)
    assert req.history == [{"role": "user", "content": "Who went?"}, {"role": "assistant", "content": "Tillerson [1]."}]
    assert not parse_chat_request({"messages": [USER], "stream_options": {"include_usage": True}},
                                  models=MODELS).include_usage  # only a stream has a usage chunk


@pytest.mark.parametrize("body,status,message", [
    ({"input": "a"}, 404, "model 'None' not found; this server has m"),
    ({"model": "m", "input": [[1, 2]]}, 400,
     "input must be a string or a non-empty list of strings (token ids are not supported)"),
    ({"model": "m", "input": []}, 400,
     "input must be a string or a non-empty list of strings (token ids are not supported)"),
    ({"model": "m", "input": ["a"] * (MAX_INPUTS + 1)}, 400, f"at most {MAX_INPUTS} inputs per request"),
    ({"model": "m", "input": "a", "encoding_format": "int8"}, 400, "encoding_format must be 'float' or 'base64'"),
])
def test_a_bad_embeddings_body_gets_the_messages_clients_know(body, status, message):
    with pytest.raises(ApiError) as err:
        parse_embedding_request(body, ("m",))
    assert (err.value.status, err.value.message) == (status, message)
    assert set(err.value.body()["error"]) == {"message", "type", "param", "code"}


def test_the_access_rules():
    assert is_loopback("localhost") and is_loopback("[::1]") and not is_loopback("0.0.0.0")
    check_bind("::1", protected=False, refusal="never raised")
    check_bind("0.0.0.0", protected=True, refusal="never raised")
    with pytest.raises(SettingsError, match="set a key"):
        check_bind("192.168.1.5", protected=False, refusal="set a key")
    assert allowed_hosts("::", protected=False, extra=(" Rag.LAN ",))[-2:] == ("[::]", "rag.lan")
    assert allowed_hosts("0.0.0.0", protected=True) is None
    check_key(None, None)
    check_key("bearer  k3y-0123456789 ", "k3y-0123456789")
    for header, message in ((None, "missing API key"), ("Basic a2V5", "missing API key"), ("Bearer ", "missing"),
                            ("Bearer k3y-012345678", "incorrect API key provided")):
        with pytest.raises(ApiError, match=message) as err:
            check_key(header, "k3y-0123456789")
        assert err.value.status == 401 and err.value.code == "invalid_api_key"
        assert err.value.headers == {"WWW-Authenticate": "Bearer", "Connection": "close"}
