"""Superset's per-role users and the `lakehouse_data` role, run by lakehouse/services/superset.py
with Superset's own interpreter (JSON on stdin: {"users": [{"username", "password", "roles"}]}).

`lakehouse_data` grants access to every database and dataset of this instance: there is only
the lakehouse's Trino connection, whose Trino user is masked and read-only.
"""
import json
import sys

from superset.app import create_app

spec = json.load(sys.stdin)
app = create_app()
with app.app_context():
    sm = app.appbuilder.sm
    data = sm.find_role("lakehouse_data") or sm.add_role("lakehouse_data")
    for perm in ("all_datasource_access", "all_database_access"):
        pvm = sm.add_permission_view_menu(perm, perm)
        sm.add_permission_role(data, pvm)
    for user in spec["users"]:
        roles = [sm.find_role(r) for r in user["roles"]]
        if None in roles:
            sys.exit(f"unknown Superset role in {user['roles']}")
        found = sm.find_user(username=user["username"])
        if found is None:
            sm.add_user(user["username"], user["username"], "lakehouse", f"{user['username']}@lakehouse.invalid",
                        roles, user["password"])
        else:
            found.roles = roles
            sm.update_user(found)
            sm.reset_password(found.id, user["password"])
    print("users:", ", ".join(u["username"] for u in spec["users"]))
