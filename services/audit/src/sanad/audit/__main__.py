"""``python -m sanad.audit serve|migrate`` (the service) or
``replay|verify|reproduce|compare|timeline`` (the audit CLI)."""

import sys

from sanad.audit.cli import COMMANDS, main
from sanad.audit.main import MIGRATIONS, create_app
from sanad.audit.settings import AuditSettings
from sanad.shared.cli import service_main

if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
    sys.exit(main(sys.argv[1:]))
sys.exit(service_main(AuditSettings, create_app, MIGRATIONS))
