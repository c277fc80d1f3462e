"""What a channel is told: one alert, or a digest of a burst. Pure functions of `AlertFacts`.

The text is Chinese on purpose: a channel is a community's group chat, mailbox or phone, not
a user with a language setting. The kind is the rule's translatable label.

A message names the house (the alert's title is its address), the kind, the person masked
(张*明), the resident's phone and the alert's link. Every title starts with 【守望·…】, which a
DingTalk or Feishu bot's keyword check can ask for.

The phone is masked (138****5678) wherever the message may be read by more than one person: a
WeCom, DingTalk or Feishu group, a webhook, a shared mailbox, a list of numbers, a family
contact. Group chats are where the 2020 returnee lists leaked; from the alert's link, calling
is one tap and audited. Only a channel addressed to one named worker (`disclosure.addressed_to`:
their own
SMS number or e-mail, and nobody else subscribed) carries the full number, and the sender writes
an audit entry for each such delivery. The number is decrypted for that message only: it is
never logged, and a delivery's recorded error never holds it (see `scrub`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from django.utils import translation

from shouwang.alerts import rules
from shouwang.alerts.models import Alert, Severity
from shouwang.core import identity

_SEVERITY = {Severity.CRITICAL: "紧急", Severity.WARNING: "告警", Severity.INFO: "提示"}
_REASON_TAG = {"escalated": "已升级", "reminded": "仍未处理"}
_REASON_SHORT = {"escalated": "（升级）", "reminded": "（提醒）"}
# Mobile numbers anywhere in a text (an error echoed by a provider, say).
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


@dataclass(frozen=True)
class AlertFacts:
    """The facts of one alert that a message needs, read once from the database."""

    alert_id: int
    house: str
    kind: str
    severity: int
    reason: str
    at: datetime
    url: str
    person: str = ""  # masked
    phone: str = ""  # masked, or in full for a channel addressed to one named worker
    escalation_level: int = 0


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    # Template SMS cannot carry free text: the same facts as named template parameters.
    params: dict[str, str] = field(default_factory=dict)
    alert_ids: tuple[int, ...] = ()

    def size(self) -> int:
        """Bytes as bots that join title and body count them (UTF-8)."""
        return len(f"{self.title}\r\n{self.body}".encode())


def alert_url(base_url: str, alert_id: int) -> str:
    return f"{base_url.rstrip('/')}/alerts/{alert_id}/"


def console_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/alerts/"


def kind_label(kind: str, language: str) -> str:
    rule = rules.KINDS.get(kind)
    if rule is None:
        return kind
    with translation.override(language):
        return str(rule.label)


def facts_from(
    alert: Alert, reason: str, base_url: str, language: str, *, full_phone: bool = False
) -> AlertFacts:
    person = alert.person
    phone = ""
    if person is not None and person.phone:
        phone = person.phone if full_phone else person.masked_phone
    return AlertFacts(
        alert_id=alert.pk,
        house=alert.title,
        kind=kind_label(alert.kind, language),
        severity=alert.severity,
        reason=reason,
        at=alert.opened_at,
        url=alert_url(base_url, alert.pk),
        person=identity.mask_name(person.name) if person is not None else "",
        phone=phone,
        escalation_level=alert.escalation_level,
    )


def _severity(value: int) -> str:
    try:
        return _SEVERITY[Severity(value)]
    except ValueError:
        return "告警"


def single(facts: AlertFacts, zone: tzinfo) -> Message:
    tag = _severity(facts.severity)
    if facts.reason in _REASON_TAG:
        tag = f"{tag}·{_REASON_TAG[facts.reason]}"
    lines = [f"住址：{facts.house}"]
    if facts.person:
        lines.append(f"人员：{facts.person}")
    if facts.phone:
        lines.append(f"电话：{facts.phone}")
    lines.append(f"时间：{facts.at.astimezone(zone):%m-%d %H:%M}")
    if facts.reason == "escalated":
        lines.append(f"说明：无人确认，已升级到第 {facts.escalation_level} 级")
    elif facts.reason == "reminded":
        lines.append("说明：告警仍未处理，请尽快处置")
    lines.append(f"处置：{facts.url}")
    return Message(
        title=f"【守望·{tag}】{facts.kind}",
        body="\n".join(lines),
        params={
            "house": facts.house,
            "kind": facts.kind,
            "name": facts.person,
            "phone": facts.phone,
            "url": facts.url,
        },
        alert_ids=(facts.alert_id,),
    )


def digest(
    facts: Sequence[AlertFacts], console: str, zone: tzinfo, max_bytes: int | None = None
) -> Message:
    """One message for a burst: "N 条新告警：" and a line per alert (house, kind, time).

    A channel with a small size limit (WeCom: 2048 bytes) gets as many lines as fit and the
    count of the rest; the console lists them all.
    """
    count = len(facts)
    title = f"【守望·汇总】{count} 条新告警"
    head = f"{count} 条新告警（消息过多，已合并）："
    foot = f"控制台：{console}"
    lines = [
        f"{n}. {f.house} {f.kind}{_REASON_SHORT.get(f.reason, '')} {f.at.astimezone(zone):%H:%M}"
        for n, f in enumerate(facts, start=1)
    ]
    shown = lines
    if max_bytes is not None:
        shown = []
        for n, line in enumerate(lines):
            rest = count - n - 1
            more = [f"……另有 {rest} 条" if rest else ""]
            candidate = "\n".join([head, *shown, line, *[m for m in more if m], foot])
            if len(f"{title}\r\n{candidate}".encode()) > max_bytes:
                break
            shown.append(line)
    missing = count - len(shown)
    body = "\n".join([head, *shown, *([f"……另有 {missing} 条"] if missing else []), foot])
    first = facts[0].house if facts else ""
    return Message(
        title=title,
        body=body,
        params={
            "house": f"{first}等{count}处" if count > 1 else first,
            "kind": f"{count}条新告警",
            "name": "",
            "phone": "",
            "url": console,
        },
        alert_ids=tuple(f.alert_id for f in facts),
    )


def scrub(text: str) -> str:
    """A text fit for a log or a delivery's recorded error: mobile numbers masked."""
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
