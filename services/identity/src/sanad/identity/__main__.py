import sys

from sanad.identity.cli import COMMANDS, run
from sanad.identity.main import MIGRATIONS, create_app
from sanad.identity.settings import IdentitySettings
from sanad.shared.cli import service_main

if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
    sys.exit(run(sys.argv[1:]))
sys.exit(service_main(IdentitySettings, create_app, MIGRATIONS))
