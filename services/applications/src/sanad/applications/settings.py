"""Settings of the applications service (environment variables prefixed `SANAD_APPLICATIONS_`)."""

from pathlib import Path

from pydantic import Field

from sanad.shared.settings import ServiceSettings, hot_path_workers, service_config


class ApplicationsSettings(ServiceSettings):
    model_config = service_config("applications")

    service: str = "applications"
    uses_redis: bool = True  # the program catalog cache
    port: int = 8003
    workers: int = Field(default_factory=hot_path_workers, ge=1, le=64)
    # Where uploaded documents are stored, content-addressed (SANAD_APPLICATIONS_DOCUMENT_ROOT).
    document_root: Path = Path(".local/applications/documents")
    # 10 MB: under the gateway's 10 MiB body limit with the multipart framing.
    max_document_bytes: int = Field(10_000_000, ge=1)
    max_documents: int = Field(20, ge=1)
    # A document upload is one multipart body: the document plus its framing.
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1)
    # How long the public catalog stays in Redis (it is also dropped on every change).
    program_cache_seconds: int = Field(300, ge=1)
    # How often the job rejecting applications past their completion deadline runs.
    expiry_interval_seconds: float = Field(60.0, gt=0)
