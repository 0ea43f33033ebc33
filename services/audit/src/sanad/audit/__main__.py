import sys

from sanad.audit.main import MIGRATIONS, create_app
from sanad.audit.settings import AuditSettings
from sanad.shared.cli import service_main

sys.exit(service_main(AuditSettings, create_app, MIGRATIONS))
