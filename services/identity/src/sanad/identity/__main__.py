import sys

from sanad.identity.main import MIGRATIONS, create_app
from sanad.identity.settings import IdentitySettings
from sanad.shared.cli import service_main

sys.exit(service_main(IdentitySettings, create_app, MIGRATIONS))
