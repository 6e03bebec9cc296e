"""The fast paths of issue 19 keep their contracts: the frozen start-up heap, the JSON
encoder (UTF-8 as is, every integer still encodable)."""

from __future__ import annotations

import gc
import json

from api.app import GC_THRESHOLDS, encode_response, freeze_startup_heap
from tests.helpers import Api


def test_start_up_objects_are_frozen_once_per_process() -> None:
    before = gc.get_threshold()
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        freeze_startup_heap()
        assert gc.get_freeze_count() == frozen, "a second start-up freezes nothing more"
    finally:
        gc.set_threshold(*before)


def test_the_encoder_keeps_chinese_as_utf8_and_encodes_huge_integers() -> None:
    assert encode_response({"name": "学生"}) == '{"name":"学生"}'.encode()
    huge = {"evidence": {"n": 10**30}}
    assert json.loads(encode_response(huge)) == huge


async def test_responses_carry_chinese_unescaped(api: Api) -> None:
    response = await api.post("{ me { agency { name } } }")
    assert response.status_code == 200
    name = response.json()["data"]["me"]["agency"]["name"]
    assert name.encode() in response.content and b"\\u" not in response.content
