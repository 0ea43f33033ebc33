import sys

from sanad.gateway.main import MIGRATIONS, create_app
from sanad.gateway.settings import GatewaySettings
from sanad.shared.cli import service_main

sys.exit(service_main(GatewaySettings, create_app, MIGRATIONS))
