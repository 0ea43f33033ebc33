import sys

from sanad.portal.main import MIGRATIONS, create_app
from sanad.portal.settings import PortalSettings
from sanad.shared.cli import service_main

sys.exit(service_main(PortalSettings, create_app, MIGRATIONS))
