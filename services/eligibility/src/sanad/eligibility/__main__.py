import sys

from sanad.eligibility.main import MIGRATIONS, create_app
from sanad.eligibility.settings import EligibilitySettings
from sanad.shared.cli import service_main

sys.exit(service_main(EligibilitySettings, create_app, MIGRATIONS))
