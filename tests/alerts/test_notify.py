"""Notifications: what a channel is told, and that it is told once, in time, or seen to fail.

The bots, the webhook and the SMS provider are stood in for by a real HTTP server on
127.0.0.1 that records what it receives and answers what a test tells it (500, 429, an error
code, or nothing at all when it is down); e-mail goes to a local SMTP server (aiosmtpd). The
bot plugins reach the local server through NOTIFY_BASE_URL_OVERRIDES.

Most tests drive the sender in the test's own thread (`sender.run_due()`, as the periodic
sweep does) with the clock in time_machine's hands; the tests of wake-on-commit and rollback
commit for real (`transaction=True`) and wait for the sender's own threads on an Event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shouwang.alerts.models import (
    Alert,
    Channel,
    ChannelKind,
    Delivery,
    Outcome,
    Severity,
    Subscription,
)
from shouwang.alerts.notify import channels, messages, sender, sms
from shouwang.alerts.services import alerting
from shouwang.alerts.services.alerting import Trigger, raise_alert
from shouwang.alerts.tasks import send_due_notifications
from shouwang.core.models import AuditLog
from shouwang.quarantine import alert_kinds as quarantine_kinds
from tests.alerts.conftest import T0, Door
from tests.conftest import Town, login

ZONE = ZoneInfo("Asia/Shanghai")
BASE = "https://shouwang.example.org"
DINGTALK_SECRET = "SECa1b2c3d4e5f6"
ALIYUN_SECRET = "testSecret"
PHONE = "13812345678"  # the quarantined resident's, from tests/conftest.py
MASKED_PHONE = "138****5678"
KIND_LABEL = messages.kind_label(quarantine_kinds.QUARANTINE_DOOR_OPEN, "zh-hans")


# --- a local stand-in for the bots' and providers' HTTP endpoints ----------------------------


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # time.perf_counter() when it arrived
    client: tuple[str, int] = ("", 0)  # the sender's address: one port = one kept-alive connection

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}

    @property
    def text(self) -> str:
        """The message as the far end shows it, whichever channel format it came in."""
        data = self.json()
        if "text" in data and "content" in data["text"]:
            return str(data["text"]["content"])  # WeCom, DingTalk
        if "content" in data:
            return str(data["content"]["text"])  # Feishu
        return f"{data['title']}\n{data['message']}"  # apprise's JSON webhook


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, bytes]] = field(default_factory=deque)
    default: tuple[int, bytes] = (200, b'{"errcode":0,"errmsg":"ok"}')
    arrived: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *answers: tuple[int, bytes | dict[str, Any]]) -> None:
        """The next answers, in order; then the default (200, errcode 0)."""
        for status, body in answers:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.answers.append((status, data))

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps a connection open for a client that does

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urllib.parse.urlsplit(self.path)
                record = Received(
                    method="POST",
                    path=parts.path,
                    query=urllib.parse.parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length),
                    at=time.perf_counter(),
                    client=self.client_address[:2],
                )
                with receiver.arrived:
                    status, body = (
                        receiver.answers.popleft() if receiver.answers else receiver.default
                    )
                    receiver.received.append(record)
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        """Stop answering: connections are refused until `up()`."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def up(self) -> None:
        self.start()  # the same port again (HTTPServer sets SO_REUSEADDR)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    # apprise's bot plugins have their vendors' hosts built in; this setting points the
    # plugin instances we make at the local receiver instead (see notify/conf.py).
    settings.NOTIFY = replace(
        settings.NOTIFY,
        base_url=BASE,
        base_url_overrides={
            "https://qyapi.weixin.qq.com": made.url,
            "https://oapi.dingtalk.com": made.url,
            "https://open.feishu.cn": made.url,
        },
    )
    yield made
    if made.server is not None:
        made.down()


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(autouse=True)
def _sender_stopped() -> Iterator[None]:
    """Whatever the sender's threads started in a test ends with it (and its timers too)."""
    yield
    sender.runtime.wait_idle(10)
    sender.runtime.stop()


# --- helpers ----------------------------------------------------------------------------------


def make_channel(town: Town, kind: str, target: str, per_minute: int = 20) -> Channel:
    channel = Channel.objects.create(
        name=f"{kind} channel", kind=kind, target=target, per_minute=per_minute
    )
    Subscription.objects.create(channel=channel, area=town.east, min_severity=Severity.WARNING)
    return channel


def bot(town: Town, receiver: Receiver, kind: str = ChannelKind.DINGTALK, **kw: Any) -> Channel:
    targets = {
        ChannelKind.WECOM: "wecombot://wecom-key_1",
        ChannelKind.DINGTALK: f"dingtalk://{DINGTALK_SECRET}@dingtoken123/",
        ChannelKind.FEISHU: "feishu://feishu-token-1",
        ChannelKind.WEBHOOK: f"json://127.0.0.1:{receiver.port}/hooks/shouwang",
    }
    return make_channel(town, kind, targets[kind], **kw)


def open_alert(town: Town, n: int, at: datetime, title: str | None = None) -> Alert:
    """An alert of its own subject, as a rule raises it (planned deliveries included)."""
    return raise_alert(
        Trigger(
            kind=quarantine_kinds.QUARANTINE_DOOR_OPEN,
            subject=f"household:{1000 + n}",
            at=at,
            title=title or f"东风花园{n:02d}号",
            area=town.east_unit,
            severity=Severity.CRITICAL,
            household=town.east_home,
            person=town.east_person,
        )
    )


def delivery() -> Delivery:
    return Delivery.objects.get()


def travel(at: datetime) -> Any:
    return time_machine.travel(at, tick=False)


# --- the message: pure functions ------------------------------------------------------------


def facts(**changes: Any) -> messages.AlertFacts:
    values: dict[str, Any] = {
        "alert_id": 42,
        "house": "东风花园 3号楼 2单元501",
        "kind": "隔离期间开门",
        "severity": Severity.CRITICAL,
        "reason": "opened",
        "at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        "url": "https://shouwang.example.org/alerts/42/",
        "person": "张*明",
        "phone": PHONE,
    }
    values.update(changes)
    return messages.AlertFacts(**values)


def test_single_message_names_house_kind_person_phone_and_link() -> None:
    message = messages.single(facts(), ZONE)
    assert message.title == "【守望·紧急】隔离期间开门"
    assert message.body == "\n".join(
        [
            "住址：东风花园 3号楼 2单元501",
            "人员：张*明",
            "电话：13812345678",
            "时间：03-02 10:00",  # shown in Shanghai time
            "处置：https://shouwang.example.org/alerts/42/",
        ]
    )
    assert message.params == {
        "house": "东风花园 3号楼 2单元501",
        "kind": "隔离期间开门",
        "name": "张*明",
        "phone": PHONE,
        "url": "https://shouwang.example.org/alerts/42/",
    }


def test_escalation_and_reminder_say_so_and_a_device_alert_has_no_person() -> None:
    escalated = messages.single(facts(reason="escalated", escalation_level=2), ZONE)
    assert escalated.title == "【守望·紧急·已升级】隔离期间开门"
    assert "说明：无人确认，已升级到第 2 级" in escalated.body
    reminded = messages.single(facts(reason="reminded", severity=Severity.WARNING), ZONE)
    assert reminded.title == "【守望·告警·仍未处理】隔离期间开门"
    device = messages.single(facts(person="", phone=""), ZONE)
    assert "人员" not in device.body
    assert "电话" not in device.body


def test_digest_lists_every_alert_once_with_the_console_link() -> None:
    burst = [facts(alert_id=i, house=f"幸福里{i:02d}号") for i in range(1, 31)]
    message = messages.digest(burst, "https://s.example/alerts/", ZONE)
    assert message.title == "【守望·汇总】30 条新告警"
    assert message.body.startswith("30 条新告警")
    for i in range(1, 31):
        assert message.body.count(f"幸福里{i:02d}号") == 1
    assert message.body.endswith("控制台：https://s.example/alerts/")
    assert PHONE not in message.body
    assert message.alert_ids == tuple(range(1, 31))


def test_digest_fits_a_small_channel_and_counts_the_rest() -> None:
    burst = [facts(alert_id=i, house=f"东风花园{i:02d}号楼2单元501") for i in range(1, 61)]
    message = messages.digest(burst, "https://s.example/alerts/", ZONE, max_bytes=2048)
    assert message.size() <= 2048
    shown = len(re.findall(r"^\d+\. ", message.body, re.MULTILINE))
    assert 10 < shown < 60
    assert f"……另有 {60 - shown} 条" in message.body
    assert message.body.endswith("控制台：https://s.example/alerts/")


def test_scrub_masks_mobile_numbers() -> None:
    assert messages.scrub("号码 13812345678 无效") == "号码 138****5678 无效"
    assert messages.scrub("id 113812345678901") == "id 113812345678901"  # not a phone


def test_backoff_doubles_from_30_seconds_up_to_30_minutes() -> None:
    waits = [sender.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]


# --- each channel kind, end to end ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (ChannelKind.WECOM, "/cgi-bin/webhook/send"),
        (ChannelKind.DINGTALK, "/robot/send"),
        (ChannelKind.FEISHU, "/open-apis/bot/v2/hook/feishu-token-1/"),
        (ChannelKind.WEBHOOK, "/hooks/shouwang"),
    ],
)
def test_each_bot_kind_formats_and_delivers(
    town: Town, quarantine: Any, door: Door, receiver: Receiver, kind: str, path: str
) -> None:
    bot(town, receiver, kind)
    door("open", T0)
    alert = Alert.objects.get()
    report = sender.run_due()
    assert (report.messages, report.sent) == (1, 1)
    [request] = receiver.received
    assert request.path == path
    text = request.text
    assert "东风花园 3号楼 2单元501" in text
    assert KIND_LABEL in text
    assert "张*明" in text
    assert "张三明" not in text
    # A group chat or a webhook: the phone masked, the link (calling is one tap and audited).
    assert MASKED_PHONE in text
    assert PHONE not in text
    assert not AuditLog.objects.filter(action="alert.notify_full_phone").exists()
    assert f"{BASE}/alerts/{alert.pk}/" in text
    sent = delivery()
    assert (sent.status, sent.attempts, sent.digest_of, sent.last_error) == ("sent", 1, 0, "")
    assert sent.sent_at is not None


def test_bot_keys_travel_where_the_vendors_expect_them(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    bot(town, receiver, ChannelKind.WECOM)
    door("open", T0)
    sender.run_due()
    [request] = receiver.received
    assert request.query["key"] == ["wecom-key_1"]
    assert request.json()["msgtype"] == "text"


def test_dingtalk_signature_verifies_at_the_receiver(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    """DingTalk's check: sign == Base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)),
    sent URL-encoded once, with a millisecond timestamp within an hour of now."""
    bot(town, receiver, ChannelKind.DINGTALK)
    door("open", T0)
    sender.run_due()
    [request] = receiver.received
    assert request.query["access_token"] == ["dingtoken123"]
    [timestamp], [sign] = request.query["timestamp"], request.query["sign"]
    assert abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
    expected = base64.b64encode(
        hmac.new(
            DINGTALK_SECRET.encode(),
            f"{timestamp}\n{DINGTALK_SECRET}".encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    assert sign == expected


def test_email_goes_through_smtp(
    town: Town, quarantine: Any, door: Door, receiver: Receiver, mailbox: Mailbox
) -> None:
    make_channel(
        town,
        ChannelKind.EMAIL,
        f"mailto://127.0.0.1:{mailbox.port}?from=alerts@shouwang.example.org"
        "&to=duty@east.example.org",
    )
    door("open", T0)
    alert = Alert.objects.get()
    assert sender.run_due().sent == 1
    [(sender_address, recipients, raw)] = mailbox.messages
    assert sender_address == "alerts@shouwang.example.org"
    assert recipients == ["duty@east.example.org"]
    mail = message_from_bytes(raw)
    assert str(make_header(decode_header(mail["Subject"]))) == f"【守望·紧急】{KIND_LABEL}"
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    assert "东风花园 3号楼 2单元501" in body
    assert MASKED_PHONE in body  # a duty mailbox for an area, not one named worker
    assert PHONE not in body
    assert f"{BASE}/alerts/{alert.pk}/" in body


def _mail_body(raw: bytes) -> str:
    mail = message_from_bytes(raw)
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def test_only_a_channel_addressed_to_one_named_worker_carries_the_full_phone_audited(
    town: Town, quarantine: Any, door: Door, mailbox: Mailbox
) -> None:
    own = Channel.objects.create(
        name="东风值班员的邮箱",
        kind=ChannelKind.EMAIL,
        target=f"mailto://127.0.0.1:{mailbox.port}?from=alerts@shouwang.example.org"
        "&to=east@east.example.org",
    )
    Subscription.objects.create(channel=own, user=town.east_worker, area=town.east)
    door("open", T0)
    alert = Alert.objects.get()
    assert sender.run_due().sent == 1
    [(_, recipients_, raw)] = mailbox.messages
    assert recipients_ == ["east@east.example.org"]
    assert PHONE in _mail_body(raw)
    entry = AuditLog.objects.get(action="alert.notify_full_phone")
    assert entry.details == {"channel": own.pk, "to_user": town.east_worker.pk, "alert": alert.pk}
    # A second reader of the same channel makes it a group: masked again, no further entry.
    Subscription.objects.create(channel=own, user=town.town_operator, area=town.street)
    alerting.resolve(town.east_worker, alert, Outcome.FALSE_ALARM)
    door("open", T0 + timedelta(minutes=30))
    assert sender.run_due().sent == 1
    assert PHONE not in _mail_body(mailbox.messages[-1][2])
    assert MASKED_PHONE in _mail_body(mailbox.messages[-1][2])
    assert AuditLog.objects.filter(action="alert.notify_full_phone").count() == 1


def aliyun_target(receiver: Receiver) -> str:
    return json.dumps(
        {
            "provider": "aliyun",
            "access_key_id": "testId",
            "access_key_secret": ALIYUN_SECRET,
            "sign_name": "守望社区",
            "template_code": "SMS_71390007",
            "phone_numbers": ["13900001111", "13900002222"],
            "endpoint": receiver.url + "/",
        }
    )


def aliyun_expected_signature(params: dict[str, str], secret: str, method: str) -> str:
    """Aliyun's RPC signature v1, written out again from its documentation."""

    def encode(text: str) -> str:
        return (
            urllib.parse.quote(text.encode("utf-8"), safe="")
            .replace("+", "%20")
            .replace("*", "%2A")
            .replace("%7E", "~")
        )

    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = method + "&" + encode("/") + "&" + encode(canonical)
    key = (secret + "&").encode()
    return base64.b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha1).digest()).decode()


def test_aliyun_sms_signature_verifies_at_the_receiver(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    receiver.answer((200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}))
    make_channel(town, ChannelKind.SMS, aliyun_target(receiver))
    door("open", T0)
    alert = Alert.objects.get()
    assert sender.run_due().sent == 1
    [request] = receiver.received
    assert request.path == "/"
    assert request.query == {}  # nothing, least of all a phone number, in the URL
    form = request.form
    signature = form.pop("Signature")
    assert signature == aliyun_expected_signature(form, ALIYUN_SECRET, "POST")
    assert form["AccessKeyId"] == "testId"
    assert form["Action"] == "SendSms"
    assert form["SignatureMethod"] == "HMAC-SHA1"
    assert form["SignatureVersion"] == "1.0"
    assert form["SignName"] == "守望社区"
    assert form["TemplateCode"] == "SMS_71390007"
    assert form["PhoneNumbers"] == "13900001111,13900002222"
    assert json.loads(form["TemplateParam"]) == {
        "house": "东风花园 3号楼 2单元501",
        "kind": KIND_LABEL,
        "name": "张*明",
        "phone": MASKED_PHONE,  # two numbers: not one named worker's own
        "url": f"{BASE}/alerts/{alert.pk}/",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", form["Timestamp"])


def test_aliyun_provider_reports_refusals_clearly(receiver: Receiver) -> None:
    provider = sms.parse_settings(aliyun_target(receiver)).provider
    receiver.answer(
        (400, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}),
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}),
        (503, b"busy"),
    )
    with pytest.raises(sms.SmsError, match=r"isv\.MOBILE_NUMBER_ILLEGAL") as illegal:
        provider.send(["123"], "SMS_1", {})
    assert illegal.value.permanent
    with pytest.raises(sms.SmsError, match="BUSINESS_LIMIT_CONTROL") as limited:
        provider.send(["13900001111"], "SMS_1", {})
    assert (limited.value.permanent, limited.value.rate_limited) == (False, True)
    with pytest.raises(sms.SmsError, match="HTTP 503") as busy:
        provider.send(["13900001111"], "SMS_1", {})
    assert not busy.value.permanent


def test_sms_settings_are_checked_without_echoing_secrets() -> None:
    with pytest.raises(ValueError, match="JSON"):
        sms.parse_settings("not json")
    with pytest.raises(ValueError, match="access_key_secret") as missing:
        sms.parse_settings(json.dumps({"access_key_id": "LTAIabc"}))
    assert "LTAIabc" not in str(missing.value)
    with pytest.raises(ValueError, match="不支持"):
        sms.parse_settings(json.dumps({"provider": "other"}))


# --- retries, rate limits, failures: the clock in hand ----------------------------------------


def test_500_is_retried_with_backoff_until_it_goes_through(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver)
    receiver.answer((500, b"oops"), (502, b"bad gateway"))
    with travel(start):
        door("open", T0)
        report = sender.run_due()
    assert (report.sent, report.retried) == (0, 1)
    waiting = delivery()
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == start + timedelta(seconds=30)
    assert "500" in waiting.last_error
    with travel(start + timedelta(seconds=29)):
        assert sender.run_due().messages == 0  # not yet due
    with travel(start + timedelta(seconds=30)):
        sender.run_due()
    assert delivery().next_attempt_at == start + timedelta(seconds=90)  # then a minute
    assert "502" in delivery().last_error
    with travel(start + timedelta(seconds=90)):
        assert sender.run_due().sent == 1
    done = delivery()
    assert (done.status, done.attempts) == ("sent", 3)
    assert len(receiver.received) == 3


def test_429_waits_at_least_a_minute_and_loses_nothing(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver, ChannelKind.FEISHU)
    receiver.answer((429, b"too many"))
    with travel(start):
        door("open", T0)
        sender.run_due()
    assert delivery().status == "pending"
    assert delivery().next_attempt_at == start + timedelta(seconds=60)
    with travel(start + timedelta(seconds=60)):
        assert sender.run_due().sent == 1
    assert len(receiver.received) == 2


def test_a_bots_error_code_in_a_200_answer_is_no_success(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    """The bots refuse with HTTP 200 and an error code: "send too fast" waits, a bad
    signature fails for an admin to see."""
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver, ChannelKind.DINGTALK)
    receiver.answer(
        (200, {"errcode": 130101, "errmsg": "send too fast"}),
        (200, {"errcode": 310000, "errmsg": "sign not match"}),
    )
    with travel(start):
        door("open", T0)
        sender.run_due()
    assert delivery().status == "pending"
    assert "130101" in delivery().last_error
    with travel(start + timedelta(seconds=60)):
        sender.run_due()
    failed = delivery()
    assert failed.status == "failed"
    assert "310000" in failed.last_error
    assert "sign not match" in failed.last_error


def test_channel_down_keeps_its_deliveries_and_sends_them_when_back(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver, ChannelKind.WECOM)
    receiver.down()
    with travel(start):
        door("open", T0)
        sender.run_due()
    with travel(start + timedelta(seconds=30)):
        sender.run_due()
    waiting = delivery()
    assert (waiting.status, waiting.attempts) == ("pending", 2)
    assert "连接失败" in waiting.last_error
    receiver.up()
    with travel(start + timedelta(seconds=90)):
        assert sender.run_due().sent == 1
    assert len(receiver.received) == 1


def test_permanent_refusal_fails_at_once_with_the_error(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    bot(town, receiver, ChannelKind.WEBHOOK)
    receiver.answer((404, b"no such hook"))
    door("open", T0)
    report = sender.run_due()
    assert report.failed == 1
    failed = delivery()
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "404" in failed.last_error
    assert PHONE not in failed.last_error


def test_too_many_attempts_fail_the_delivery(
    town: Town, quarantine: Any, door: Door, receiver: Receiver, settings: Any
) -> None:
    settings.NOTIFY = replace(settings.NOTIFY, max_attempts=3)
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver)
    receiver.default = (503, b"unavailable")
    with travel(start):
        door("open", T0)
    for seconds in (0, 30, 90):
        with travel(start + timedelta(seconds=seconds)):
            sender.run_due()
    failed = delivery()
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "503" in failed.last_error
    with travel(start + timedelta(hours=2)):
        assert sender.run_due().messages == 0
    assert len(receiver.received) == 3


def test_a_burst_becomes_singles_then_one_digest_within_the_limit(
    town: Town, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    channel = bot(town, receiver, ChannelKind.DINGTALK, per_minute=20)
    for n in range(1, 51):
        at = start + timedelta(milliseconds=100 * n)
        with travel(at):
            open_alert(town, n, at)
            sender.run_due()  # what each commit's wake does
    with travel(start + timedelta(seconds=20)):
        sender.run_due()
    assert len(receiver.received) <= channel.per_minute  # all of them within the minute
    texts = [r.text for r in receiver.received]
    for n in range(1, 51):
        house = f"东风花园{n:02d}号"
        assert sum(text.count(house) for text in texts) == 1, house
    digests = [t for t in texts if "条新告警" in t]
    assert len(digests) == 1
    assert Delivery.objects.filter(status="sent").count() == 50
    in_digest = Delivery.objects.exclude(digest_of=0)
    assert in_digest.count() == 50 - (len(texts) - 1)
    assert len(set(in_digest.values_list("digest_of", flat=True))) == 1
    # A minute on, the channel takes single messages again.
    later = start + timedelta(seconds=80)
    with travel(later):
        open_alert(town, 99, later)
        assert sender.run_due().messages == 1
    assert "住址：东风花园99号" in receiver.received[-1].text


def test_the_limit_counts_what_other_processes_sent(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 30, tzinfo=UTC)
    channel = bot(town, receiver, ChannelKind.WECOM, per_minute=3)
    other = open_alert(town, 1, T0)
    Delivery.objects.all().delete()
    for seconds in (1, 2, 3):  # three messages another process sent in the last minute
        Delivery.objects.create(
            channel=channel,
            alert=other,
            reason="opened",
            status="sent",
            created_at=start - timedelta(seconds=60 - seconds),
            next_attempt_at=start,
            sent_at=start - timedelta(seconds=60 - seconds),
        )
    with travel(start):
        door("open", T0)
        report = sender.run_due()
    assert (report.messages, report.deferred) == (0, 1)
    waiting = Delivery.objects.get(status="pending")
    assert waiting.next_attempt_at == start + timedelta(seconds=1)  # the oldest leaves then
    assert waiting.attempts == 0
    with travel(start + timedelta(seconds=1)):
        # One slot is free: the window's last message waits a moment to gather a burst.
        assert sender.run_due().messages == 0
    assert Delivery.objects.get(status="pending").next_attempt_at == start + sender.GATHER
    with travel(start + sender.GATHER):
        assert sender.run_due().sent == 1


def test_one_sender_per_channel_and_a_dead_ones_lease_runs_out(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    channel = bot(town, receiver)
    Channel.objects.filter(pk=channel.pk).update(
        lease_token="another-process", lease_until=start + sender.LEASE
    )
    with travel(start):
        door("open", T0)
        assert sender.run_due().messages == 0
    assert receiver.received == []
    with travel(start + sender.LEASE + timedelta(seconds=1)):
        assert sender.run_due().sent == 1
    assert Channel.objects.get().lease_token == ""


def test_a_claim_is_taken_once_and_a_crashed_senders_claim_is_retried(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    start = datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC)
    bot(town, receiver)
    with travel(start):
        door("open", T0)
        ids = [delivery().pk]
        assert len(sender._claim(ids, start)) == 1  # then the process dies mid-send
        assert sender._claim(ids, start) == []  # nobody else can take it meanwhile
        assert sender.run_due().messages == 0
    with travel(start + sender.CLAIM):
        assert send_due_notifications.call_local() == {
            "messages": 1,
            "sent": 1,
            "retried": 0,
            "failed": 0,
            "deferred": 0,
        }
    assert (delivery().status, delivery().attempts) == ("sent", 2)


def test_a_deactivated_channel_fails_its_waiting_deliveries(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    channel = bot(town, receiver)
    door("open", T0)
    Channel.objects.filter(pk=channel.pk).update(active=False)
    assert sender.run_due().failed == 1
    assert (delivery().status, delivery().last_error) == ("failed", "渠道已停用")
    assert receiver.received == []


# --- for real: commits, the sender's own threads ----------------------------------------------

# Committed for real, so the sender's threads see the data. With serialized rollback, as the
# MQTT bridge's tests: a flush without it re-creates the content types under new ids, and the
# next test that restores its snapshot collides with them.
REAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@REAL
def test_first_attempt_starts_on_commit_without_any_sweep(
    town: Town, quarantine: Any, door: Door, receiver: Receiver, monkeypatch: Any
) -> None:
    bot(town, receiver, ChannelKind.DINGTALK)
    woken: list[float] = []
    real_wake = sender.wake

    def timed_wake() -> None:
        woken.append(time.perf_counter())
        real_wake()

    monkeypatch.setattr(sender, "wake", timed_wake)
    door("open", T0)  # commits; the wake on commit hands the delivery to the sender's threads
    assert receiver.wait_for(1, timeout=5), "nothing was sent after the commit"
    [committed] = woken
    latency = receiver.received[0].at - committed
    # About 10 ms here; the bound leaves room for a loaded CI machine.
    assert latency < 0.5, f"first attempt {latency * 1000:.0f} ms after the commit"
    assert sender.runtime.wait_idle(5)
    assert delivery().status == "sent"


@REAL
def test_nothing_is_sent_for_a_rolled_back_transaction(
    town: Town, quarantine: Any, door: Door, receiver: Receiver, monkeypatch: Any
) -> None:
    bot(town, receiver, ChannelKind.WECOM)
    wakes: list[float] = []
    real_wake = sender.wake

    def counting_wake() -> None:
        wakes.append(time.perf_counter())
        real_wake()

    monkeypatch.setattr(sender, "wake", counting_wake)
    planned: list[int] = []

    def open_the_door_then_roll_back() -> None:
        with transaction.atomic():
            door("open", T0)
            planned.append(Delivery.objects.count())
            raise RuntimeError("changed our mind")

    with pytest.raises(RuntimeError, match="changed our mind"):
        open_the_door_then_roll_back()
    assert planned == [1]  # planned inside the transaction…
    assert Delivery.objects.count() == 0  # …and gone with it
    assert Alert.objects.count() == 0
    assert wakes == []
    assert sender.runtime.wait_idle(5)
    assert receiver.received == []
    # The same path, committed, does send: the silence above was the rollback's.
    door("open", T0 + timedelta(minutes=1))
    assert receiver.wait_for(1, timeout=5)
    assert len(wakes) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent senders need a server")
@REAL
def test_two_senders_at_once_send_each_delivery_once(town: Town, receiver: Receiver) -> None:
    bot(town, receiver, ChannelKind.WEBHOOK, per_minute=0)
    for n in range(1, 11):
        open_alert(town, n, T0 + timedelta(seconds=n))  # each commits and wakes the sender
    barrier = threading.Barrier(3)
    reports: list[sender.Report] = []

    def another_process() -> None:
        barrier.wait()
        try:
            reports.append(sender.run_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=another_process) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sender.runtime.wait_idle(10)
    assert receiver.wait_for(10)
    sent = [r.text for r in receiver.received]
    assert len(sent) == 10
    assert sorted(sent) == sorted(set(sent))
    assert Delivery.objects.filter(status="sent", attempts=1).count() == 10


# --- the admin --------------------------------------------------------------------------------


def admin_client(town: Town) -> Client:
    town.admin.is_staff = True
    town.admin.is_superuser = True
    town.admin.save()
    return login(town.admin)


def test_admin_creates_a_channel_stores_it_encrypted_and_shows_it_masked(town: Town) -> None:
    client = admin_client(town)
    response = client.post(
        "/admin/alerts/channel/add/",
        {
            "name": "东风社区钉钉群",
            "kind": ChannelKind.DINGTALK,
            "new_target": f"dingtalk://{DINGTALK_SECRET}@dingtoken123/",
            "per_minute": 20,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.get()
    assert channel.target == f"dingtalk://{DINGTALK_SECRET}@dingtoken123/"
    with connection.cursor() as cursor:
        cursor.execute("SELECT target FROM alerts_channel WHERE id = %s", [channel.pk])
        [raw] = cursor.fetchone()
    assert DINGTALK_SECRET not in raw
    assert "dingtoken123" not in raw
    page = client.get(f"/admin/alerts/channel/{channel.pk}/change/").content.decode()
    listing = client.get("/admin/alerts/channel/").content.decode()
    for shown in (page, listing):
        assert DINGTALK_SECRET not in shown
        assert "dingtoken123" not in shown
        assert "dingtalk://" in shown
    # Saving without a new target keeps the old one.
    client.post(
        f"/admin/alerts/channel/{channel.pk}/change/",
        {"name": "东风社区钉钉群", "kind": ChannelKind.DINGTALK, "per_minute": 10, "active": "on"},
    )
    channel.refresh_from_db()
    assert (channel.per_minute, channel.target) == (
        10,
        f"dingtalk://{DINGTALK_SECRET}@dingtoken123/",
    )
    assert AuditLog.objects.filter(action="admin.add", target_type="alerts.channel").exists()
    assert DINGTALK_SECRET not in json.dumps(list(AuditLog.objects.values("details")))


def test_admin_refuses_a_target_that_does_not_fit_the_kind(town: Town) -> None:
    client = admin_client(town)
    response = client.post(
        "/admin/alerts/channel/add/",
        {
            "name": "错的",
            "kind": ChannelKind.WECOM,
            "new_target": "dingtalk://SECsecret@token/",
            "per_minute": 20,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "wecombot://" in page
    assert Channel.objects.count() == 0


def test_admin_creates_a_subscription_for_an_area(town: Town, receiver: Receiver) -> None:
    channel = Channel.objects.create(name="x", kind=ChannelKind.WECOM, target="wecombot://k")
    client = admin_client(town)
    assert client.get("/admin/alerts/subscription/add/").status_code == 200
    response = client.post(
        "/admin/alerts/subscription/add/",
        {
            "channel": channel.pk,
            "area": town.east.pk,
            "kinds": [quarantine_kinds.QUARANTINE_DOOR_OPEN],
            "min_severity": Severity.WARNING,
            "escalation_level": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Subscription.objects.get().kinds == [quarantine_kinds.QUARANTINE_DOOR_OPEN]
    refused = client.post(
        "/admin/alerts/subscription/add/",
        {"channel": channel.pk, "min_severity": Severity.WARNING, "escalation_level": 0},
    )
    assert refused.status_code == 200
    assert Subscription.objects.count() == 1


def test_admin_delivery_log_filters_and_requeues(
    town: Town, quarantine: Any, door: Door, receiver: Receiver
) -> None:
    channel = bot(town, receiver, ChannelKind.WEBHOOK)
    receiver.answer((400, b"bad"))
    door("open", T0)
    sender.run_due()
    failed = delivery()
    client = admin_client(town)
    page = client.get(f"/admin/alerts/delivery/?status=failed&channel__id__exact={channel.pk}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "东风花园 3号楼 2单元501" in text
    assert "400" in text
    assert PHONE not in text
    assert (
        "东风花园 3号楼 2单元501"
        not in client.get("/admin/alerts/delivery/?status=sent").content.decode()
    )
    response = client.post(
        "/admin/alerts/delivery/",
        {"action": "requeue", "_selected_action": [failed.pk]},
    )
    assert response.status_code == 302
    again = delivery()
    assert (again.status, again.attempts) == ("pending", 0)
    assert AuditLog.objects.filter(action="delivery.requeue").exists()
    assert sender.run_due().sent == 1


def test_channels_masking_hides_keys() -> None:
    assert "wecom-key_1" not in channels.masked_target(ChannelKind.WECOM, "wecombot://wecom-key_1")
    masked_sms = channels.masked_target(
        ChannelKind.SMS,
        json.dumps(
            {
                "access_key_id": "LTAI5tAbcdefgh",
                "access_key_secret": "verysecret",
                "phone_numbers": ["13900001111"],
            }
        ),
    )
    assert "verysecret" not in masked_sms
    assert "LTAI5tAbcdefgh" not in masked_sms
    assert "139****1111" in masked_sms


def test_admin_lists_do_not_query_per_row(town: Town, receiver: Receiver) -> None:
    channel = bot(town, receiver, ChannelKind.WECOM)
    client = admin_client(town)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    open_alert(town, 1, T0)
    few = [queries(f"/admin/alerts/{page}/") for page in ("delivery", "subscription", "channel")]
    for n in range(2, 8):
        open_alert(town, n, T0)
        Subscription.objects.create(channel=channel, area=town.west)
    more = [queries(f"/admin/alerts/{page}/") for page in ("delivery", "subscription", "channel")]
    assert more == few
