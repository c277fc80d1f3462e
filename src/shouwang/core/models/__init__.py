from shouwang.core.models.areas import Area, AreaKind
from shouwang.core.models.audit import AuditLog
from shouwang.core.models.imports import RosterUpload, UploadStatus
from shouwang.core.models.people import Household, Person, Tag
from shouwang.core.models.staff import Role, User

__all__ = [
    "Area",
    "AreaKind",
    "AuditLog",
    "Household",
    "Person",
    "Role",
    "RosterUpload",
    "Tag",
    "UploadStatus",
    "User",
]
