"""Channels: sending one message, checking a target an admin typed, showing it masked.

WeCom, DingTalk and Feishu bots, e-mail and JSON webhooks go through apprise; template SMS
through `notify.sms`. `send` either returns or raises `SendError`, which says whether a retry
can help (a 4xx other than 408/429 cannot) and whether the far end asked us to slow down.

Two things in apprise 2.2.0's bot plugins would lose alerts silently, so the bots are small
subclasses of apprise's plugins that keep their URL forms, parsing and masking and replace
only the HTTP exchange:
- the bots answer HTTP 200 with an error code in the JSON body when they refuse a message
  (DingTalk 310000 bad signature, 130101 too fast; WeCom 45009 too frequent; Feishu 11232):
  apprise's plugins look at the HTTP status only and call those sent;
- apprise's DingTalk plugin URL-encodes the signature itself and then hands it to requests as
  a query parameter, which encodes it again ("%253D"): DingTalk then finds no match (310000).
  The signature here follows DingTalk's document: Base64(HMAC-SHA256(secret,
  timestamp + "\\n" + secret)), URL-encoded once, with the timestamp in milliseconds.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from apprise import Apprise, AppriseAsset, NotifyFormat, NotifyType
from apprise.plugins.base import NotifyBase
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.wecombot import NotifyWeComBot

from shouwang.alerts.models import ChannelKind
from shouwang.alerts.notify import conf, sms
from shouwang.alerts.notify.messages import Message, scrub

SCHEMES: dict[str, tuple[str, ...]] = {
    ChannelKind.WECOM: ("wecombot",),
    ChannelKind.DINGTALK: ("dingtalk",),
    ChannelKind.FEISHU: ("feishu",),
    ChannelKind.EMAIL: ("mailto", "mailtos"),
    ChannelKind.WEBHOOK: ("json", "jsons"),
}
# What one message may hold, title and body together in UTF-8 (WeCom's text is 2048 bytes;
# DingTalk refuses requests over 20000 bytes, Feishu about the same). Digests are cut to fit.
MAX_BYTES: dict[str, int] = {
    ChannelKind.WECOM: 2048,
    ChannelKind.DINGTALK: 18000,
    ChannelKind.FEISHU: 18000,
}
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")

# apprise's plugins log their payloads at DEBUG, and ours carry a resident's phone number:
# whatever the log level, apprise never logs below INFO.
_apprise_log = logging.getLogger("apprise")
if _apprise_log.level < logging.INFO:
    _apprise_log.setLevel(logging.INFO)


class SendError(Exception):
    def __init__(self, text: str, *, permanent: bool = False, rate_limited: bool = False) -> None:
        super().__init__(scrub(text)[:500])
        self.text = scrub(text)[:500]
        self.permanent = permanent
        self.rate_limited = rate_limited


def classify_status(status: int, text: str) -> SendError:
    if status == 429:
        return SendError(text, rate_limited=True)
    if 400 <= status < 500 and status != 408:
        return SendError(text, permanent=True)
    return SendError(text)


@functools.cache
def tls_context(verify: bool = True) -> ssl.SSLContext:
    """Made once: loading the CA certificates takes tens of milliseconds, every time."""
    context = ssl.create_default_context()
    if not verify:  # only when the channel's URL says verify=no
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# --- the bots: apprise's plugins with a checked HTTP exchange --------------------------------

# Codes in a bot's JSON answer: "slow down", and "try again"; any other non-zero is a refusal.
_RATE_LIMITED_CODES = {45009, 130101, 410100, 11232}
_BUSY_CODES = {-1}


class _CheckedBot(NotifyBase):
    """Posts JSON, and reads the answer's error code as well as its HTTP status."""

    outcome: SendError | None = None

    def _post(
        self, url: str, payload: dict[str, Any], params: dict[str, str] | None = None
    ) -> bool:
        self.outcome = None
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        request = urllib.request.Request(  # noqa: S310 - the vendor's https URL (or a test's)
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "Shouwang"},
        )
        context = tls_context(verify=bool(self.verify_certificate))
        name = self.service_name
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=sum(self.request_timeout), context=context
            ) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (OSError, ValueError) as exc:
            self.outcome = SendError(f"{name} 连接失败：{type(exc).__name__}")
            self.logger.warning("A connection error occurred sending %s notification.", name)
            return False
        if not 200 <= status < 300:
            self.outcome = classify_status(status, f"{name} 拒绝：HTTP {status}")
            self.logger.warning("Failed to send %s notification: error=%s.", name, status)
            return False
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        try:
            code = int(code or 0)
        except (TypeError, ValueError):
            code = -1
        if code == 0:
            self.logger.info("Sent %s notification.", name)
            return True
        message = str(answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", ""))))
        text = f"{name} 拒绝：错误码 {code} {message[:200]}".strip()
        self.outcome = SendError(
            text,
            rate_limited=code in _RATE_LIMITED_CODES,
            permanent=code not in _RATE_LIMITED_CODES | _BUSY_CODES,
        )
        self.logger.warning("Failed to send %s notification: errcode=%s.", name, code)
        return False


class CheckedWeComBot(_CheckedBot, NotifyWeComBot):
    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        body_format: NotifyFormat | None = None,
        **kwargs: Any,
    ) -> bool:
        text = f"{title}\r\n{body}" if title else body
        return self._post(self.api_url, {"msgtype": "text", "text": {"content": text}})


class SignedDingTalk(_CheckedBot, NotifyDingTalk):
    def get_signature(self) -> tuple[str, str]:
        """DingTalk's signing: the signature is URL-encoded once, by the query string."""
        timestamp = str(round(time.time() * 1000))
        secret = str(self.secret)
        to_sign = f"{timestamp}\n{secret}".encode()
        digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
        return timestamp, base64.b64encode(digest).decode()

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        body_format: NotifyFormat | None = None,
        **kwargs: Any,
    ) -> bool:
        payload = {
            "msgtype": "text",
            "text": {"content": f"{title}\r\n{body}" if title else body},
            "at": {"atMobiles": self.targets, "isAtAll": False},
        }
        params = None
        if self.secret:
            timestamp, sign = self.get_signature()
            params = {"timestamp": timestamp, "sign": sign}
        return self._post(self.notify_url.format(token=self.token), payload, params)


class CheckedFeishu(_CheckedBot, NotifyFeishu):
    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        body_format: NotifyFormat | None = None,
        **kwargs: Any,
    ) -> bool:
        text = f"{title}\r\n{body}" if title else body
        return self._post(
            self.notify_url.format(token=self.token),
            {"msg_type": "text", "content": {"text": text}},
        )


_CHECKED: dict[str, type[_CheckedBot]] = {
    "wecombot": CheckedWeComBot,
    "dingtalk": SignedDingTalk,
    "feishu": CheckedFeishu,
}


# --- building a channel's apprise service ----------------------------------------------------


def _asset() -> AppriseAsset:
    # async_mode off: one service per call, already on the sender's own thread.
    return AppriseAsset(
        app_id="Shouwang", app_desc="守望", app_url=conf.base_url(), async_mode=False
    )


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].strip().lower() if "://" in url else ""


def _apply_overrides(service: Any) -> None:
    """Point a bot plugin's built-in vendor origin elsewhere (see conf.base_url_overrides)."""
    overrides = conf.base_url_overrides()
    if not overrides:
        return
    for attribute in ("notify_url", "api_url"):
        value = getattr(service, attribute, None)
        if not isinstance(value, str):
            continue
        for origin, replacement in overrides.items():
            if value.startswith(origin + "/"):
                setattr(service, attribute, replacement + value[len(origin) :])
                break


def service_for(kind: str, url: str) -> NotifyBase:
    """The apprise service for a channel's URL, or ValueError with a reason that shows no
    secret (apprise's own messages may quote the key)."""
    url = url.strip()
    schemes = SCHEMES.get(kind)
    if not schemes:
        raise ValueError(f"渠道类型 {kind} 不使用 apprise 地址")
    if _scheme(url) not in schemes:
        raise ValueError("地址应以 " + " 或 ".join(f"{s}://" for s in schemes) + " 开头")
    asset = _asset()
    service: NotifyBase | None
    try:
        checked = _CHECKED.get(_scheme(url))
        if checked is not None:
            results = checked.parse_url(url)
            service = checked(**{**results, "asset": asset}) if results else None
        else:
            service = Apprise.instantiate(url, asset=asset, suppress_exceptions=False)
    except Exception:  # apprise raises its own errors and TypeError for bad URLs
        service = None
    if service is None:
        raise ValueError("地址无法识别：请检查密钥、令牌或收件人是否完整")
    _apply_overrides(service)
    return service


def masked_target(kind: str, target: str | None) -> str:
    """What an admin sees of a saved target: apprise's privacy form, or the SMS settings
    with keys and numbers masked."""
    if not target:
        return ""
    if kind == ChannelKind.SMS:
        try:
            data = json.loads(target)
        except ValueError:
            return "（无效的 JSON）"
        key = str(data.get("access_key_id", ""))
        numbers = data.get("phone_numbers") or []
        if isinstance(numbers, str):
            numbers = numbers.split(",")
        return (
            f"{data.get('provider', 'aliyun')}：{key[:4]}****{key[-2:] if len(key) > 6 else ''}"
            f"，签名 {data.get('sign_name', '')}，模板 {data.get('template_code', '')}，"
            f"号码 {'、'.join(scrub(str(n)) for n in numbers)}"
        )
    try:
        private = str(service_for(kind, target).url(privacy=True)).split("?", 1)[0]
    except ValueError:
        return f"{_scheme(target)}://…（无效）"
    if kind == ChannelKind.WEBHOOK:
        # A webhook's path often is its secret: show where it goes, not the path.
        parts = urllib.parse.urlsplit(private)
        return f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") else private
    return private


def validate_target(kind: str, target: str) -> None:
    """ValueError, with a reason fit to show, when a target cannot be used."""
    if kind == ChannelKind.SMS:
        sms.parse_settings(target)
        return
    service_for(kind, target)


# --- sending ---------------------------------------------------------------------------------


def send(
    kind: str,
    target: str,
    message: Message,
    to: Sequence[str] | None = None,
    key: str = "",
) -> None:
    """Send one message; SendError when it was not accepted. `to`: instead of the channel's
    own recipients (a family contact's number: SMS channels only). `key`: sent to a JSON
    webhook as `Idempotency-Key`, the same on every attempt of a delivery, so a receiver can
    drop the second copy that a crash between sending and recording causes."""
    if kind == ChannelKind.SMS:
        _send_sms(target, message, to)
        return
    if to is not None:
        raise SendError(f"渠道类型 {kind} 不能发给个人", permanent=True)
    try:
        service = service_for(kind, target)
    except ValueError as exc:
        raise SendError(str(exc), permanent=True) from None
    if key and kind == ChannelKind.WEBHOOK:
        service.headers["Idempotency-Key"] = key  # type: ignore[attr-defined]
    apprise = Apprise(asset=service.asset)
    apprise.add(service)
    result = apprise.notify(
        body=message.body,
        title=message.title,
        notify_type=NotifyType.WARNING,
        body_format=NotifyFormat.TEXT,
    )
    if result:
        return
    outcome = getattr(service, "outcome", None)
    if isinstance(outcome, SendError):
        raise outcome
    warnings = [entry.message for entry in result.logs() if entry.level != "INFO"]
    text = "；".join(warnings)[:400] or "发送失败"
    statuses = [int(m) for w in warnings for m in _HTTP_STATUS.findall(w)]
    if statuses:
        raise classify_status(statuses[-1], text)
    raise SendError(text)


def _send_sms(target: str, message: Message, to: Sequence[str] | None) -> None:
    try:
        settings = sms.parse_settings(target)
    except ValueError as exc:
        raise SendError(str(exc), permanent=True) from None
    numbers = settings.phone_numbers if to is None else tuple(to)
    try:
        settings.provider.send(numbers, settings.template_code, message.params)
    except sms.SmsError as exc:
        raise SendError(str(exc), permanent=exc.permanent, rate_limited=exc.rate_limited) from None


tls_context()  # at start-up, not on the first alert's path
