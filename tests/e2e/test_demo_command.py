"""`make demo` end to end on the embedded default (SQLite, Celery eager), on a small store."""

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_installs_syncs_and_runs_the_program(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"VAR_DIR": str(tmp_path), "PORT": str(free_port()), "DEMO_CUSTOMERS": "60", "DEMO_ORDERS": "250",
                "DEMO_ADMIN_PASSWORD": "demo-test-password"})
    result = subprocess.run([sys.executable, "manage.py", "demo", "--exit-after-install"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)  # a hang guard only
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Synced          60 customers, 70 products, 250 orders (sync completed)" in output
    assert "loyalty program on" in output
    assert "plan: Comeback" in output  # the demo store approved the paid plan's test charge in the sandbox
    assert "campaign flows on" in output
    assert "surveys on: 3 surveys" in output  # answered by past customers: the Surveys report is not empty
    assert "could not be sent" not in output  # discount codes reach the sandbox from the demo's own loop
    assert "login: admin / demo-test-password" in output
    # the second sandbox shop, without the app: the address a person clicks to walk through the install
    assert "/shops/new-store.myshopify.com/admin/apps/" in output
    assert "opens embedded on the set-up guide" in output
    assert (tmp_path / "comeback.sqlite3").exists()
    # the demo store has been through the set-up guide (its app opens on the overview); the new shop has not
    with sqlite3.connect(tmp_path / "comeback.sqlite3") as database:
        onboarded = database.execute("SELECT shop.domain, onboarding.launched_at IS NOT NULL FROM dashboard_onboarding"
                                     " onboarding JOIN commerce_shop shop ON shop.id = onboarding.shop_id").fetchall()
    assert onboarded == [("demo-store.myshopify.com", 1)]
