#!/usr/bin/env python
"""The example Django site audited by Trailbook (see site_config/settings.py)::

    TRAILBOOK_URL=http://127.0.0.1:8600 TRAILBOOK_API_KEY=tb_... \
        python examples/django_site/manage.py migrate
    TRAILBOOK_URL=... TRAILBOOK_API_KEY=... \
        python examples/django_site/manage.py runserver 8000
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
