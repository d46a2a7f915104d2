"""Service settings from the environment (prefix FORMCHECK_), e.g. FORMCHECK_DATA_DIR=/srv/formcheck.

The pipeline's own tunables stay in `formcheck.config.Settings` (optionally a TOML file given
by FORMCHECK_PIPELINE_CONFIG); these are the service's: where data goes, limits, workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from formcheck.config import ModelName, Settings
from formcheck.processes import available_cores


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORMCHECK_", extra="ignore")

    data_dir: Path = Field(Path("formcheck-data"), description="SQLite database and one media folder per job.")
    # Scale-out (docs/deploy.md). Without a database URL: the SQLite file in data_dir and the embedded queue.
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the database, e.g. postgresql+psycopg://user:pw@host/formcheck. "
                          "A Postgres URL also switches the job queue to Procrastinate (`formcheck worker`).")
    s3_bucket: str | None = Field(None, description="Keep uploads and results in this S3 bucket (else data_dir).")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (SeaweedFS, Ceph, R2...).")
    s3_region: str = Field("us-east-1", description="S3 region name.")
    s3_access_key_id: str | None = Field(None, description="S3 access key (else boto3's usual sources).")
    s3_secret_access_key: str | None = Field(None, description="S3 secret key (else boto3's usual sources).")
    worker_heartbeat_s: float = Field(5.0, gt=0, description="How often a Procrastinate worker says it is alive.")
    worker_stalled_after_s: float = Field(
        30.0, gt=0, description="A job whose worker has been silent this long is run again elsewhere.")
    max_upload_bytes: int = Field(500 * 1024 * 1024, gt=0, description="Uploads above this size get 413.")
    max_duration_s: float = Field(15 * 60.0, gt=0, description="Clips longer than this get 413.")
    workers: int = Field(default_factory=available_cores, ge=0,
                         description="Analysis processes of this process (capped at the core count); 0 only with "
                                     "a Postgres database: the API then leaves every analysis to `formcheck worker`.")
    model: ModelName = Field("full", description="Default pose model.")
    pipeline_config: Path | None = Field(None, description="TOML overriding formcheck.config.Settings.")
    progress_interval_s: float = Field(0.5, ge=0, description="Minimum time between progress writes to the DB.")
    # Live (/api/v1/live): each session holds a pose model and keeps about one core busy.
    live_max_sessions: int = Field(default_factory=available_cores, ge=1,
                                   description="Concurrent live sessions; more are refused.")
    live_max_frame_bytes: int = Field(2 * 1024 * 1024, gt=0, description="Largest live frame (JPEG) accepted.")
    max_queued: int = Field(32, ge=1, description="Jobs waiting for a worker; more uploads get 429 with Retry-After.")
    retry_after_s: int = Field(30, ge=1, description="Retry-After (s) sent with 429 (queue full) and 503 answers.")
    db_timeout_s: float = Field(5.0, gt=0, description="How long a request waits for a locked database before 503.")
    # Request limits (issue 18): a slow or huge request costs the server a bounded amount.
    max_body_bytes: int = Field(1024 * 1024, gt=0, description="Largest body of a non-upload request; more gets 413.")
    header_timeout_s: float = Field(15.0, gt=0,
                                    description="Time to send a request's headers, then the connection closes.")
    body_idle_timeout_s: float = Field(30.0, gt=0, description="Longest pause while sending a body; then 408.")
    min_body_rate_bytes_s: int = Field(8 * 1024, ge=0,
                                       description="Slowest average body rate after the grace; else 408.")
    body_rate_grace_s: float = Field(10.0, ge=0, description="Start of a body before its average rate is checked.")
    max_uploads_per_client: int = Field(4, ge=1,
                                        description="Uploads one client (IP, clinician) sends at once; more: 429.")
    max_fps: float = Field(240.0, gt=0, description="Clips with a higher frame rate get 413.")
    max_frames: int = Field(54_000, gt=0, description="Clips with more frames get 413 (15 min at 60 fps).")
    max_pixel_frames: float = Field(1920 * 1080 * 54_000, gt=0,
                                    description="Width x height x frames above this gets 413 (15 min of 1080p60).")
    job_timeout_s: float = Field(3600.0, gt=0, description="Wall-clock limit of one analysis (then job_time_limit).")
    job_cpu_s: float = Field(4 * 3600.0, gt=0, description="CPU-time limit of one analysis (then job_cpu_limit).")
    min_free_disk_mb: float = Field(500.0, ge=0,
                                    description="/readyz answers 503 below this free space in the data dir.")
    storage_retry_after_s: int = Field(300, ge=1, description="Retry-After (s) of 507 answers (disk full).")
    hsts_max_age_s: int = Field(365 * 24 * 3600, ge=0, description="HSTS max-age on HTTPS requests (0: none).")

    @field_validator("workers")
    @classmethod
    def _at_most_one_per_core(cls, value: int) -> int:
        return min(value, available_cores())

    @model_validator(mode="after")
    def _analyses_need_a_runner(self) -> ServiceSettings:
        if self.workers == 0 and not self.distributed:
            raise ValueError("workers=0 needs a Postgres database_url (someone must run the analyses)")
        return self

    @property
    def db_path(self) -> Path:
        """The embedded database's file (unused when `database_url` is set)."""
        return self.data_dir / "formcheck.sqlite3"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def distributed(self) -> bool:
        """A Postgres database: jobs go through Procrastinate, any number of `formcheck worker` run them."""
        return self.db_url.startswith("postgresql")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def pipeline_settings(self, model: str | None = None) -> Settings:
        settings = Settings.from_toml(self.pipeline_config)
        settings.pose.model = cast(ModelName, model or self.model)  # callers pass names checked against MODEL_NAMES
        settings.limits.max_duration_s = self.max_duration_s
        if self.workers >= 2:  # jobs side by side already fill the cores: one landmarker each
            settings.pose.workers = 1
        return settings
