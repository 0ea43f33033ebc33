import sys

from sanad.profile.cli import COMMANDS, run
from sanad.profile.main import MIGRATIONS, create_app
from sanad.profile.settings import ProfileSettings
from sanad.shared.cli import service_main

if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
    sys.exit(run(sys.argv[1:]))
sys.exit(service_main(ProfileSettings, create_app, MIGRATIONS))
