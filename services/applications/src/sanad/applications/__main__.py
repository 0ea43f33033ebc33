import sys

from sanad.applications.main import MIGRATIONS, create_app
from sanad.applications.settings import ApplicationsSettings
from sanad.shared.cli import service_main

sys.exit(service_main(ApplicationsSettings, create_app, MIGRATIONS))
