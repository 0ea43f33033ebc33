import sys

from sanad.profile.main import MIGRATIONS, create_app
from sanad.profile.settings import ProfileSettings
from sanad.shared.cli import service_main

sys.exit(service_main(ProfileSettings, create_app, MIGRATIONS))
