"""Where the jobs' media are kept: the uploaded clip and the results folder of each job.

Each machine's `media/<job id>/` folder is a local cache of its job's objects; the storage is
the truth. `LocalStorage` (the default, one machine) is the data dir's media folder itself, so
its operations on a job's own folder are no-ops. `S3Storage` keeps the objects in an
S3-compatible bucket (AWS, SeaweedFS, MinIO, Ceph, R2...) under `<job id>/input.<ext>` and
`<job id>/results/<file>`, so that the API machine and the worker machines share no disk.

A storage object is passed to the spawned analysis processes, so both are picklable (the S3
client is made on first use in each process). A fetch writes beside its destination and renames
it into place: a reader never sees half a file or half a folder. A missing object is an answer
(`False`), not an error; a storage that cannot be reached raises `StorageUnavailableError`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from formcheck.errors import ApiError

if TYPE_CHECKING:
    from formcheck.service.settings import ServiceSettings

# Keys per S3 DeleteObjects request (the protocol's limit).
DELETE_BATCH = 1000


class StorageUnavailableError(ApiError):
    """The media storage refused or did not answer (a missing object is not this error)."""

    code = "storage_unavailable"
    http_status = 503
    hint = "Try again in a minute; if it persists, tell the operator (the media storage FORMCHECK_S3_*)."


class MediaStorage(Protocol):
    """A job's objects by name: `input.mp4`, `results` (a folder), `results/key_frames`..."""

    def prepare(self) -> None:
        """Make the store ready at start (the bucket is created when it does not exist)."""
        ...

    def put_file(self, job_id: str, name: str, path: Path) -> None:
        """Store the local file `path` as the job's `name`."""
        ...

    def fetch_file(self, job_id: str, name: str, dest: Path) -> bool:
        """Write the job's `name` to `dest`; False (and no `dest`) when the storage has none."""
        ...

    def put_folder(self, job_id: str, name: str, folder: Path) -> None:
        """Store the local `folder` as the job's folder `name`, replacing what it held."""
        ...

    def fetch_folder(self, job_id: str, name: str, dest: Path) -> bool:
        """Write the job's folder `name` to `dest` (complete, or not at all); False when the storage has none."""
        ...

    def exists(self, job_id: str, name: str) -> bool:
        """Whether the storage holds the job's file `name`."""
        ...

    def delete_file(self, job_id: str, name: str) -> None:
        """Remove the job's file `name` (nothing when it is not there)."""
        ...

    def delete_job(self, job_id: str) -> None:
        """Remove every object of the job."""
        ...


def _beside(dest: Path, what: str) -> Path:
    """A hidden temporary name next to `dest` (same file system, so the final rename is atomic)."""
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.{what}")


def _copy_file(src: Path, dest: Path) -> None:
    if dest.exists() and os.path.samefile(src, dest):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(dest, "part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _swap_in(new: Path, dest: Path) -> None:
    """Move the complete folder `new` to `dest`; the folder it replaces is removed after the rename."""
    old = _beside(dest, "old")
    if dest.exists():
        dest.rename(old)
    try:
        new.rename(dest)
    except OSError:  # another fetch put the same folder in place meanwhile: keep that one
        if not dest.is_dir():
            if old.exists():
                old.rename(dest)
            raise
        shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _copy_folder(src: Path, dest: Path) -> None:
    if dest.exists() and os.path.samefile(src, dest):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(dest, "copy")
    try:
        shutil.copytree(src, tmp)
        _swap_in(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class LocalStorage:
    """The media folder is the store: `root/<job id>/<name>` (in the service, each job's own folder)."""

    root: Path

    def path(self, job_id: str, name: str) -> Path:
        return self.root / job_id / name

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put_file(self, job_id: str, name: str, path: Path) -> None:
        _copy_file(path, self.path(job_id, name))

    def fetch_file(self, job_id: str, name: str, dest: Path) -> bool:
        src = self.path(job_id, name)
        if not src.is_file():
            return False
        _copy_file(src, dest)
        return True

    def put_folder(self, job_id: str, name: str, folder: Path) -> None:
        _copy_folder(folder, self.path(job_id, name))

    def fetch_folder(self, job_id: str, name: str, dest: Path) -> bool:
        src = self.path(job_id, name)
        if not src.is_dir():
            return False
        _copy_folder(src, dest)
        return True

    def exists(self, job_id: str, name: str) -> bool:
        return self.path(job_id, name).is_file()

    def delete_file(self, job_id: str, name: str) -> None:
        self.path(job_id, name).unlink(missing_ok=True)

    def delete_job(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_id, ignore_errors=True)


def _missing(exc: Exception) -> bool:
    """An S3 answer that says the object is not there (HeadObject answers a bare 404)."""
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")


class S3Storage:
    """An S3-compatible bucket; credentials from the settings, else boto3's usual sources (env, files, roles)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("client", None)  # sockets and locks: each process makes its own
        return state

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    @cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        # Path-style keys for S3-compatible servers (no per-bucket DNS names); retries for brief outages.
        config = Config(s3={"addressing_style": "path"} if self.endpoint_url else {},
                        retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, config=config)

    @contextmanager
    def _answer(self, action: str) -> Iterator[None]:
        """boto3's errors as `StorageUnavailableError`, naming what failed and why."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StorageUnavailableError(
                f"The media storage (bucket {self.bucket}) refused to {action}: "
                f"{error.get('Code', '?')} {error.get('Message', '')}".rstrip() + ".") from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise StorageUnavailableError(
                f"The media storage (bucket {self.bucket}) could not {action}: {exc}.") from exc

    def prepare(self) -> None:
        with self._answer(f"create the bucket {self.bucket}"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except Exception as exc:
                if not _missing(exc):
                    raise
                self.client.create_bucket(Bucket=self.bucket)

    def _keys(self, prefix: str) -> list[str]:
        with self._answer(f"list {prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            with self._answer(f"delete {len(batch)} objects"):
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageUnavailableError(f"The media storage (bucket {self.bucket}) did not delete "
                                              f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}.")

    def put_file(self, job_id: str, name: str, path: Path) -> None:
        key = f"{job_id}/{name}"
        with self._answer(f"store {key}"):
            self.client.upload_file(str(path), self.bucket, key)

    def fetch_file(self, job_id: str, name: str, dest: Path) -> bool:
        key = f"{job_id}/{name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = _beside(dest, "part")
        try:
            with self._answer(f"read {key}"):
                try:
                    self.client.download_file(self.bucket, key, str(tmp))
                except Exception as exc:
                    if _missing(exc):
                        return False
                    raise
            os.replace(tmp, dest)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def put_folder(self, job_id: str, name: str, folder: Path) -> None:
        """Every file first, then the objects of the old folder that the new one does not have."""
        prefix = f"{job_id}/{name}/"
        stored = set()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            with self._answer(f"store {key}"):
                self.client.upload_file(str(path), self.bucket, key)
            stored.add(key)
        self._delete([key for key in self._keys(prefix) if key not in stored])

    def fetch_folder(self, job_id: str, name: str, dest: Path) -> bool:
        prefix = f"{job_id}/{name}/"
        keys = self._keys(prefix)
        if not keys:
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = _beside(dest, "fetch")
        try:
            for key in keys:
                relative = PurePosixPath(key[len(prefix):])
                if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                    continue  # never written by formcheck; never a path outside the folder
                target = tmp.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with self._answer(f"read {key}"):
                    self.client.download_file(self.bucket, key, str(target))
            _swap_in(tmp, dest)
            return True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def exists(self, job_id: str, name: str) -> bool:
        key = f"{job_id}/{name}"
        with self._answer(f"look up {key}"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if _missing(exc):
                    return False
                raise
        return True

    def delete_file(self, job_id: str, name: str) -> None:
        key = f"{job_id}/{name}"
        with self._answer(f"delete {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_job(self, job_id: str) -> None:
        self._delete(self._keys(f"{job_id}/"))


def storage_from_settings(settings: ServiceSettings) -> MediaStorage:
    """The S3 bucket when `FORMCHECK_S3_BUCKET` is set, else the data dir's media folder."""
    if settings.s3_bucket:
        return S3Storage(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region,
                         settings.s3_access_key_id, settings.s3_secret_access_key)
    return LocalStorage(settings.media_dir)
