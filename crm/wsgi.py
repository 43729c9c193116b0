"""The app for a WSGI server: gunicorn -c deploy/gunicorn.conf.py crm.wsgi:app"""

from crm import create_app

app = create_app()
