"""``python -m lms_extension.service [upgrade-db] [--LmsService.<setting>=<value> ...]``"""

from .app import main

main()
