from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shouwang.core.forms import Form
from shouwang.patrol.models import CheckItem, FindingCategory, FindingSeverity
from shouwang.patrol.services.snapshots import MAX_IMAGE_BYTES


class SnapshotUploadForm(Form):
    image = forms.FileField(label=_("Image of the gate (JPEG or PNG)"))

    def clean_image(self) -> Any:
        upload = self.cleaned_data["image"]
        if upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(
                _("The image is larger than %(mb)d MB.") % {"mb": MAX_IMAGE_BYTES // 1024 // 1024}
            )
        return upload


class FindingForm(Form):
    category = forms.ChoiceField(
        label=_("What is wrong"), choices=FindingCategory.choices, widget=forms.RadioSelect
    )
    severity = forms.TypedChoiceField(
        label=_("How serious"),
        choices=FindingSeverity.choices,
        coerce=int,
        initial=FindingSeverity.MINOR,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    evidence = forms.IntegerField(required=False, widget=forms.HiddenInput)


class AnswerForm(Form):
    note = forms.CharField(
        label=_("What was done"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    photo = forms.FileField(label=_("Photo of the gate now"), required=False)

    def clean_photo(self) -> Any:
        upload = self.cleaned_data.get("photo")
        if upload is not None and upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(_("The photo is too large."))
        return upload


class ReturnForm(Form):
    note = forms.CharField(label=_("What is still wrong"), max_length=500)


class InspectionForm(Form):
    staffed = forms.BooleanField(label=CheckItem.STAFFED.label, required=False)
    checking = forms.BooleanField(label=CheckItem.CHECKING.label, required=False)
    no_crowd = forms.BooleanField(label=CheckItem.NO_CROWD.label, required=False)
    masks = forms.BooleanField(label=CheckItem.MASKS.label, required=False)
    photo = forms.FileField(label=_("Photo of the gate"), required=False)
    video_link = forms.CharField(
        label=_("Link to the video (5 minutes at the gate)"), required=False, max_length=500
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    latitude = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def clean_photo(self) -> Any:
        upload = self.cleaned_data.get("photo")
        if upload is not None and upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(_("The photo is too large."))
        return upload
