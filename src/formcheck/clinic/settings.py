"""Clinic settings from the environment (prefix FORMCHECK_), beside the service's own.

Privacy: `FORMCHECK_KEEP_VIDEO=false` keeps no video (after the analysis the upload and the
annotated video are deleted; landmarks, key frames and metrics stay), and
`FORMCHECK_RETENTION_DAYS=N` deletes screenings older than N days and
`FORMCHECK_ANONYMOUS_RETENTION_DAYS` (default 7) analyses uploaded without an account (on start
and every `FORMCHECK_PURGE_INTERVAL_S`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClinicSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORMCHECK_", extra="ignore")

    keep_video: bool = Field(True, description="False: delete the uploaded and annotated videos once analysed.")
    retention_days: float | None = Field(None, gt=0, description="Delete screenings older than this (None: keep).")
    anonymous_retention_days: float | None = Field(
        7.0, gt=0, description="Delete analyses uploaded without an account (the public API) older than this "
                               "(None: keep).")
    purge_interval_s: float = Field(60.0, gt=0, description="How often the privacy purge runs.")
    session_hours: float = Field(12.0, gt=0, description="Lifetime of a login (bearer token or cookie).")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto", description="Secure flag of the session cookie; auto = when the request came over HTTPS.")
