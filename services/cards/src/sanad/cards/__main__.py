import sys

from sanad.cards.main import MIGRATIONS, create_app
from sanad.cards.settings import CardsSettings
from sanad.shared.cli import service_main

sys.exit(service_main(CardsSettings, create_app, MIGRATIONS))
