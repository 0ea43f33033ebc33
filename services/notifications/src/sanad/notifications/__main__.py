import sys

from sanad.notifications.main import MIGRATIONS, create_app
from sanad.notifications.settings import NotificationsSettings
from sanad.shared.cli import service_main

sys.exit(service_main(NotificationsSettings, create_app, MIGRATIONS))
