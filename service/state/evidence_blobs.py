"""The evidence container's blobs: create-only writes, reads, and the bundles of an incident.

Every blob is created with ``If-None-Match: *`` (``overwrite=False``): an existing blob is
never replaced, whatever the container's immutability policy (Azurite has none; in Azure
the Bicep's version-level WORM policy also refuses changes for the retention period).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

_MANIFEST = re.compile(r"^(?P<incident>[^/]+)/r(?P<revision>\d{6,})/manifest\.json$")


def bundle_prefix(incident_id: str, revision: int) -> str:
    return f"{incident_id}/r{revision:06d}/"


@dataclass(frozen=True, slots=True)
class StoredManifest:
    revision: int
    name: str
    metadata: Mapping[str, str]


class EvidenceBlobs:
    def __init__(self, container: ContainerClient) -> None:
        self.container = container

    def ensure_container(self) -> None:
        """Create the container if it is missing (Azurite, the demo; Bicep creates it in
        Azure with its retention policy)."""
        with contextlib.suppress(ResourceExistsError):
            self.container.create_container()

    def create(self, name: str, data: bytes, content_type: str,
               metadata: Mapping[str, str] | None = None) -> bool:
        """Create ``name``; False when it already existed (it is left as it was)."""
        try:
            self.container.upload_blob(
                name, data, overwrite=False, metadata=dict(metadata or {}),
                content_settings=ContentSettings(content_type=content_type))
        except ResourceExistsError:
            return False
        return True

    def read(self, name: str) -> bytes | None:
        try:
            return self.container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None

    def metadata(self, name: str) -> Mapping[str, str] | None:
        try:
            return dict(self.container.get_blob_client(name).get_blob_properties().metadata)
        except ResourceNotFoundError:
            return None

    def manifests(self, incident_id: str) -> list[StoredManifest]:
        """The manifests of an incident's bundles, oldest revision first."""
        found = []
        for blob in self.container.list_blobs(name_starts_with=f"{incident_id}/",
                                              include=["metadata"]):
            match = _MANIFEST.match(blob.name)
            if match and match["incident"] == incident_id:
                found.append(StoredManifest(int(match["revision"]), blob.name,
                                            dict(blob.metadata or {})))
        return sorted(found, key=lambda m: m.revision)
