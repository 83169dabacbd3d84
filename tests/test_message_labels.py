"""Refusals name a field by its label as the user sees it (持有人 / Holder), never by its key (holder),
and say what to do; the JSON error's ``fields`` keys stay the keys clients read. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.factories import (
    batch_data,
    certification_data,
    count,
    inspection_data,
    make_batch,
    make_brand,
    make_world,
)
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.records.label_sheets import read_request
from traceapp.validation import InvalidInput

API = "/api/v1"
USERS = ("producer", "inspector", "certifier", "admin")
KEYS = ("holder", "items", "brand", "inputs", "organization", "labels", "body", "verdict")


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in USERS}
        world["batch"] = make_batch(s, world["producer"], quantity="1000")
        return world


def refusal(app, client, world, who: str, path: str, body: dict, field: str, language: str | None) -> str:
    """Post ``body`` as ``who`` and return the message of the 400 naming ``field``, checking nothing was
    written and that the sentence names no field key."""
    with app.app_context():
        before = count(LedgerEntry)
    headers = {"Authorization": f"Bearer {world['tokens'][who]}"}
    if language:
        headers["Accept-Language"] = language
    response = client.post(API + path, json=body, headers=headers)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert field in error["fields"], error
    message = error["fields"][field]
    if not language:  # English words may coincide with keys ("1 to 100 items"); Chinese sentences never
        assert not any(key in message for key in KEYS), message
    with app.app_context():
        assert count(LedgerEntry) == before
    return message


@pytest.mark.parametrize("language,expected", [
    (None, "品牌必须是品牌的拼音标识（小写字母、数字和连字符），例如 yanling-huangtao；不使用品牌请留空。"),
    ("en", "Brand must be the brand's pinyin identifier (lowercase letters, digits and hyphens), such as "
           "yanling-huangtao; leave it empty if the batch uses no brand."),
])
def test_a_bad_brand_is_named_by_its_label(app, client, world, language, expected):
    body = batch_data(brand="Yanling Huangtao")
    assert refusal(app, client, world, "producer", "/batches", body, "brand", language) == expected


@pytest.mark.parametrize("language,expected", [
    (None, "第 1 个原料批次的数量必须是十进制数字字符串，最多 3 位小数，例如 \"1250.5\"。"),
    ("en", "Quantity of input batch 1 must be a decimal string of digits 0-9 with at most 3 decimals, "
           "e.g. \"1250.5\"."),
])
def test_an_inputs_bad_quantity_is_named_by_its_label(app, client, world, language, expected):
    body = batch_data(inputs=[{"code": world["batch"].code, "quantity": "许多"}])
    message = refusal(app, client, world, "producer", "/batches", body, "inputs[0].quantity", language)
    assert message == expected


@pytest.mark.parametrize("language,expected", [
    (None, "管理员登记批次时必须给出组织编号：请填写批次所属生产主体的组织编号。"),
    ("en", "An admin registering a batch must give the Organization id: enter the id of the producer the "
           "batch belongs to."),
])
def test_an_admin_batch_without_organization_is_named_by_its_label(app, client, world, language, expected):
    assert refusal(app, client, world, "admin", "/batches", batch_data(), "organization", language) == expected


@pytest.mark.parametrize("language,expected", [
    (None, "持有人必须是生产主体（合作社、企业、家庭农场或个人）；请选择一家已登记的生产主体。"),
    ("en", "Holder must be a producer (cooperative, enterprise, family farm or individual); choose a "
           "registered producer."),
])
def test_a_certificate_holder_that_is_no_producer_is_named_by_its_label(app, client, world, language, expected):
    body = certification_data(world["inspector_org"].id)
    assert refusal(app, client, world, "certifier", "/certifications", body, "holder", language) == expected


def test_inspection_items_are_named_by_their_labels(app, client, world):
    body = inspection_data(world["batch"].code, items=[])
    message = refusal(app, client, world, "inspector", "/inspections", body, "items", None)
    assert message.startswith("检测项目必须是 1 到 ") and "项目名称、检测方法、结果和判定" in message
    english = refusal(app, client, world, "inspector", "/inspections", body, "items", "en")
    assert english.startswith("Inspection items must be a list of 1 to ")


def test_the_label_count_is_named_by_its_label(app):
    with app.app_context():
        for labels, expected in ((None, "标签数是必填项。"), ("0", "标签数必须是 1 到 ")):
            with pytest.raises(InvalidInput) as info:
                read_request({"labels": labels, "package_quantity": "5", "layout": "a4-24"})
            assert info.value.fields["labels"].startswith(expected), info.value.fields


def test_a_brand_owner_that_is_no_brand_owner_is_named_by_its_label(app, world):
    with app.app_context(), db.write_session() as s, pytest.raises(InvalidInput) as info:
        make_brand(s, world["admin"], owner=world["producer_org"].id)
    assert info.value.fields["owner"] == "品牌主体必须是已登记的品牌主体组织的编号；请选择一家品牌主体。"
