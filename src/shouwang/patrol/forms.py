from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shouwang.patrol.services.snapshots import MAX_IMAGE_BYTES


class SnapshotUploadForm(forms.Form):
    image = forms.FileField(label=_("Image of the gate (JPEG or PNG)"))

    def clean_image(self) -> Any:
        upload = self.cleaned_data["image"]
        if upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(
                _("The image is larger than %(mb)d MB.") % {"mb": MAX_IMAGE_BYTES // 1024 // 1024}
            )
        return upload
