"""Template SMS: a small provider interface, and Aliyun's Dysmsapi (SendSms) behind it.

Chinese carriers only pass SMS through registered templates with a registered signature, so
a provider sends a template code and its parameters, never free text.

Aliyun's RPC API signs a request (signature version 1.0) like this: every parameter except
Signature, sorted by name, each name and value percent-encoded (RFC 3986: A-Z a-z 0-9 - _ . ~
kept, space as %20, UTF-8), joined as name=value with &; the string to sign is
METHOD + "&" + percentEncode("/") + "&" + percentEncode(that query); the signature is
Base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)). We POST the parameters as a form, so
phone numbers never sit in a URL that a proxy might log.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Aliyun's codes that mean "later": flow control and its own trouble. Any other code is a
# refusal (bad template, signature, number, key) that a retry will not change.
_ALIYUN_LATER = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable", "InternalError")


class SmsError(Exception):
    """A provider refused or could not be reached. `permanent`: retrying will not help."""

    def __init__(
        self, message: str, *, permanent: bool, code: str = "", rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.rate_limited = rate_limited


class SmsProvider(Protocol):
    def send(
        self, phone_numbers: Sequence[str], template_code: str, params: Mapping[str, str]
    ) -> str:
        """Send one template SMS to the numbers; the provider's message id, or SmsError."""
        ...


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # loading the CA certificates is slow: once


def percent_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class AliyunSms:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    endpoint: str = ALIYUN_ENDPOINT
    region_id: str = "cn-hangzhou"
    timeout: float = 8.0

    def signed_params(
        self,
        phone_numbers: Sequence[str],
        template_code: str,
        params: Mapping[str, str],
        now: datetime | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        now = now or datetime.now(UTC)
        values = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": ",".join(phone_numbers),
            "RegionId": self.region_id,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        values["Signature"] = aliyun_signature(values, self.access_key_secret, "POST")
        return values

    def send(
        self, phone_numbers: Sequence[str], template_code: str, params: Mapping[str, str]
    ) -> str:
        if not phone_numbers:
            raise SmsError("短信渠道没有配置接收号码", permanent=True)
        body = urllib.parse.urlencode(
            self.signed_params(phone_numbers, template_code, params), quote_via=urllib.parse.quote
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the endpoint is the admin's https URL
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self.timeout, context=_tls_context()
            ) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        except (OSError, ValueError) as exc:
            raise SmsError(f"短信服务连接失败：{type(exc).__name__}", permanent=False) from None
        try:
            answer: dict[str, Any] = json.loads(text)
        except ValueError:
            answer = {}
        code = str(answer.get("Code", ""))
        if status == 200 and code == "OK":
            return str(answer.get("BizId", ""))
        message = str(answer.get("Message", ""))[:200]
        detail = f"短信服务拒绝（HTTP {status}，{code or '无代码'}）：{message}".rstrip("：")
        if status == 429 or any(code.startswith(p) for p in _ALIYUN_LATER[:2]):
            raise SmsError(detail, permanent=False, code=code, rate_limited=True)
        if status >= 500 or any(code.startswith(p) for p in _ALIYUN_LATER[2:]):
            raise SmsError(detail, permanent=False, code=code)
        raise SmsError(detail, permanent=True, code=code)


@dataclass(frozen=True)
class SmsSettings:
    """An SMS channel's target, as JSON: the provider, its keys, the template, the numbers."""

    provider: SmsProvider
    template_code: str
    phone_numbers: tuple[str, ...]


REQUIRED = ("access_key_id", "access_key_secret", "sign_name", "template_code", "phone_numbers")


def parse_settings(text: str) -> SmsSettings:
    """{"provider": "aliyun", "access_key_id": …, "access_key_secret": …, "sign_name": "…",
    "template_code": "SMS_…", "phone_numbers": ["138…"], "endpoint": optional,
    "region_id": optional}. ValueError with a reason that names no secret."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("短信渠道的设置必须是 JSON") from None
    if not isinstance(data, dict):
        raise ValueError("短信渠道的设置必须是 JSON 对象")
    provider = str(data.get("provider", "aliyun"))
    if provider != "aliyun":
        raise ValueError(f"不支持的短信服务商：{provider}（支持：aliyun）")
    missing = [key for key in REQUIRED if not data.get(key)]
    if missing:
        raise ValueError("短信渠道缺少设置：" + "、".join(missing))
    numbers = data["phone_numbers"]
    if isinstance(numbers, str):
        numbers = [n.strip() for n in numbers.split(",") if n.strip()]
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise ValueError("phone_numbers 必须是号码列表")
    endpoint = str(data.get("endpoint") or ALIYUN_ENDPOINT)
    if urllib.parse.urlsplit(endpoint).scheme not in ("http", "https"):
        raise ValueError("endpoint 必须是 http(s) 地址")
    return SmsSettings(
        provider=AliyunSms(
            access_key_id=str(data["access_key_id"]),
            access_key_secret=str(data["access_key_secret"]),
            sign_name=str(data["sign_name"]),
            endpoint=endpoint,
            region_id=str(data.get("region_id") or "cn-hangzhou"),
        ),
        template_code=str(data["template_code"]),
        phone_numbers=tuple(numbers),
    )
