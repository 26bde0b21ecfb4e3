"""``python -m services.admin``: the operator's command line.

    migrate                          create the database, apply every migration, and give each
                                     service its own role (ZD_<SERVICE>_DATABASE_URL), and KEDA
                                     one that reads notify's backlog (ZD_KEDA_DATABASE_URL)
    deploy                           migrate, then load the directory (topology, policies, the
                                     department queues): what a deployment's migration job runs
    rabbitmq-definitions [--out F] [--vhost V] [--keep-department-passwords]
                         [--rabbitmq-version X.Y]
                                     the RabbitMQ definitions of the directory (users, permissions,
                                     exchanges, quorum queues, policies) as JSON, for the RabbitMQ
                                     the deployment runs (4.2) or the one given
    topology                         declare exchanges and queues on the broker
    directory load FILE [FILE ...]   validate and publish a directory (default ZD_DIRECTORY)
    keys issue PARTY [--expires-in-days N]
    keys rotate PARTY [--grace-days N]  a new key; the party's others expire after N days (7)
    keys list | keys revoke KEY_ID       (a front-end holds at most two active keys)
    amqp-users issue DEPT | amqp-users list | amqp-users revoke DEPT
    demo-credentials [--keys F] [--amqp-users F]   keys for every party lacking one
    relay                            publish anything left in the admin outbox
    parked list QUEUE [--limit N]    show parked messages (QUEUE: zd.routing.events.parked,
                                     zd.feedback.rejected, ...) with their reasons
    parked replay QUEUE [--limit N]  send them back to the queue they came from
    reporting rebuild                reporting replays its event log into a fresh read model
    category-report [--days N]       how often the office changed the category chosen, per
                                     category, the keywords to add and the model's confusions
                                     (90 days)
    category-model train [--days N] [--with-corpus]
                                     routing trains its category model on the tickets whose
                                     category the office confirmed or corrected (365 days) and
                                     uses it at once
    category-model list | off        the models routing holds; off: the keywords alone decide;
                                     these three ask the services over HTTP with ZD_ADMIN_API_KEY
                                     (ZD_ROUTING_URL, ZD_REPORTING_URL)
    personal-data erase TICKET --requested-by WHO [--reason TEXT]
                                     anonymise the reporter's details of a ticket at once in
                                     every service; who asked and when is recorded
    personal-data requests [TICKET]  the erasure requests recorded
"""
import argparse
import json
import os
import sys
from pathlib import Path

from services.admin import category_models, category_report, parked, service_api
from services.admin.database_roles import ensure_backlog_reader, ensure_service_roles
from services.admin.definitions import DEPLOYED_RABBITMQ_VERSION, definitions
from services.admin.rabbit_management import vhost_of
from services.admin.use_cases import operations as ops
from services.common.config import settings
from services.common.directory import DirectoryError, load_directory
from services.common.migrate import MigrationBlocked, migrate

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "deploy" / "directory.yaml"


def _read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def _write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    path.chmod(0o600)


def directory_paths(files=None):
    return files or os.environ.get("ZD_DIRECTORY", str(DEFAULT_DIRECTORY)).split(",")


def cmd_directory(admin, args):
    paths = directory_paths(args.files)
    try:
        directory = load_directory(paths)
    except DirectoryError as exc:
        sys.exit(f"directory rejected:\n{exc}")
    except OSError as exc:  # the image has none: a deployment mounts it (ZD_DIRECTORY)
        sys.exit(f"directory not read: {exc}")
    try:
        version, directory = ops.publish_directory(admin, directory, paths)
    except OSError as exc:  # the broker or its management API: the files were read
        sys.exit(f"directory read but not published, the broker was not reached: {exc}")
    print(f"directory {version} published: {len(directory['districts'])} districts,"
          f" {len(directory['departments'])} departments")


def cmd_keys(admin, args):
    if args.action == "issue":
        print(ops.issue_key(admin, args.target, args.expires_in_days))
    elif args.action == "rotate":
        print(ops.rotate_key(admin, args.target, args.grace_days, args.expires_in_days))
    elif args.action == "revoke":
        ops.revoke_key(admin, args.target)
    else:
        for row in ops.list_keys(admin):
            print(f"{row['key_id']}  {row['party']:<40} {_key_state(row)}")


def _key_state(row):
    if row["revoked_at"]:
        return f"revoked {row['revoked_at']:%Y-%m-%d}"
    if row["expired"]:
        return f"expired {row['expires_at']:%Y-%m-%d}"
    if row["expires_at"]:
        return f"active, expires {row['expires_at']:%Y-%m-%d %H:%M}"
    return "active"


def cmd_amqp_users(admin, args):
    if args.action == "issue":
        print(json.dumps(ops.issue_department_user(admin, args.target)))
    elif args.action == "revoke":
        ops.revoke_department_user(admin, args.target)
    else:
        for row in ops.list_department_users(admin):
            state = "revoked" if row["revoked_at"] else "active"
            print(f"{row['username']:<32} {row['vhost']:<10} {state}")


def cmd_demo_credentials(admin, args):
    keys, users = ops.demo_credentials(admin, _read_json(args.keys), _read_json(args.amqp_users))
    _write_json(args.keys, keys)
    _write_json(args.amqp_users, users)
    print(f"{len(keys)} keys in {args.keys}, {len(users)} department users in {args.amqp_users}")


def cmd_parked(admin, args):
    if args.action == "replay":
        done = parked.replay(admin.amqp_uri, args.queue, args.limit,
                             stored_original=lambda message_id: ops.stored_message(admin, message_id))
        print(f"{done.sent} messages replayed")
        if done.kept:
            print(f"{done.kept} left parked: their originals are no longer stored (kept"
                  " ZD_RETENTION_DAYS, anonymised with their ticket's reporter); read them with"
                  " 'parked list'", file=sys.stderr)
        return
    for message in parked.peek(admin.amqp_uri, args.queue, args.limit or 50):
        print(f"{message.message_id}  {message.type:<22} from {message.origin}: {message.reason}")


def migrate_with_roles():
    database_url = settings().database_url
    try:
        migrate(database_url)
    except MigrationBlocked as blocked:
        sys.exit(str(blocked))
    roles = ensure_service_roles(database_url)
    for service, (role, _) in roles.items():
        print(f"role {role}: the {service} schema")
    try:
        reader = ensure_backlog_reader(database_url)
    except ValueError as exc:  # a URL that names no role of its own: said in one line
        sys.exit(f"migrated, but no role for KEDA: {exc}")
    if reader:
        print(f"role {reader}: reads notify's notifications due, for KEDA")


def cmd_rabbitmq_definitions(args):
    try:
        directory = load_directory(directory_paths())
        vhost = args.vhost or vhost_of(settings().amqp_uri)
        kept = (ops.department_password_hashes(settings().database_url, vhost)
                if args.keep_department_passwords else {})
        document = definitions(directory, vhost, department_hashes=kept,
                               rabbitmq_version=args.rabbitmq_version)
    except (DirectoryError, ValueError, OSError) as exc:
        sys.exit(f"no definitions: {exc}")
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)


def cmd_personal_data(admin, args):
    if args.action == "erase":
        record = ops.request_erasure(admin, args.ticket, args.requested_by, args.reason)
        print(f"erasure request {record['id']} recorded: the reporter's details of ticket"
              f" {record['ticket_id']} are anonymised in every service as it hears of it")
        return
    for row in ops.erasure_requests(admin, args.ticket):
        print(f"{row['id']:>6}  {row['requested_at']:%Y-%m-%d %H:%M}  {row['ticket_id']:<24}"
              f" {row['requested_by']}{': ' + row['reason'] if row['reason'] else ''}")


def cmd_category_report(args):
    print("\n".join(category_report.lines(service_api.category_report(args.days))))


def cmd_category_model(args):
    if args.action == "train":
        model = service_api.train_category_model(args.days, args.with_corpus)
        print("\n".join(category_models.trained_lines(model)))
    elif args.action == "off":
        retired = service_api.retire_category_models()
        print(f"{retired} model{'' if retired == 1 else 's'} retired: the keywords alone decide")
    else:
        print("\n".join(category_models.model_lines(service_api.category_models())))


def cmd_reporting(args):
    done = service_api.rebuild_read_model()
    print(f"read model rebuilt from {done['events']} events: {done['tickets']} tickets,"
          f" {done['ratings']} ratings in {done['seconds']} s (the consumer waited"
          f" {done['locked_seconds']} s)")


def parser():
    root = argparse.ArgumentParser(prog="python -m services.admin", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate")
    commands.add_parser("deploy")
    definitions_command = commands.add_parser("rabbitmq-definitions")
    definitions_command.add_argument("--out", help="write to this file (default: print)")
    definitions_command.add_argument("--vhost", help="default: ZD_AMQP_URI's, else /")
    definitions_command.add_argument(
        "--keep-department-passwords", action="store_true",
        help="carry the department users' passwords kept in the database (ZD_DATABASE_URL)")
    definitions_command.add_argument(
        "--rabbitmq-version", default=DEPLOYED_RABBITMQ_VERSION,
        help=f"the broker's version: its policies differ by major version"
             f" (default {DEPLOYED_RABBITMQ_VERSION}, the deployment's)")
    commands.add_parser("topology")
    commands.add_parser("relay")
    directory = commands.add_parser("directory")
    directory.add_argument("action", choices=["load"])
    directory.add_argument("files", nargs="*")
    keys = commands.add_parser("keys")
    keys.add_argument("action", choices=["issue", "rotate", "list", "revoke"])
    keys.add_argument("target", nargs="?")
    keys.add_argument("--expires-in-days", type=int, help="the new key's lifetime")
    keys.add_argument("--grace-days", type=int, default=ops.ROTATION_GRACE_DAYS,
                      help="rotate: how long the old keys keep working")
    users = commands.add_parser("amqp-users")
    users.add_argument("action", choices=["issue", "list", "revoke"])
    users.add_argument("target", nargs="?")
    parked_command = commands.add_parser("parked")
    parked_command.add_argument("action", choices=["list", "replay"])
    parked_command.add_argument("queue")
    parked_command.add_argument("--limit", type=int)
    reporting_command = commands.add_parser("reporting")
    reporting_command.add_argument("action", choices=["rebuild"])
    report = commands.add_parser("category-report")
    report.add_argument("--days", type=int, default=90)
    model = commands.add_parser("category-model")
    model.add_argument("action", choices=["train", "list", "off"])
    model.add_argument("--days", type=int, default=365, help="train: tickets received in the last N days")
    model.add_argument("--with-corpus", action="store_true", help="train: add the project's corpus")
    personal = commands.add_parser("personal-data")
    personal.add_argument("action", choices=["erase", "requests"])
    personal.add_argument("ticket", nargs="?")
    personal.add_argument("--requested-by", help="erase: who asked (recorded)")
    personal.add_argument("--reason", help="erase: on what grounds (recorded)")
    demo = commands.add_parser("demo-credentials")
    demo.add_argument("--keys", default="var/demo-keys.json")
    demo.add_argument("--amqp-users", default="var/demo-amqp-users.json")
    return root


COMMANDS = {"directory": cmd_directory, "deploy": cmd_directory, "keys": cmd_keys,
            "amqp-users": cmd_amqp_users,
            "demo-credentials": cmd_demo_credentials, "parked": cmd_parked,
            "personal-data": cmd_personal_data,
            "topology": lambda admin, args: ops.declare_topology(admin),
            "relay": lambda admin, args: print(f"{admin.relay()} messages published")}


#: the commands that ask a service over HTTP instead of opening the admin's database
ASKING = {"category-report": cmd_category_report, "category-model": cmd_category_model,
          "reporting": cmd_reporting}


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command == "migrate":
        migrate_with_roles()
        return
    if args.command == "rabbitmq-definitions":
        cmd_rabbitmq_definitions(args)
        return
    if args.command == "deploy":
        migrate_with_roles()
        args.files = []
    if args.command in ASKING:
        try:
            ASKING[args.command](args)
        except service_api.ServiceRefused as refused:
            sys.exit(f"{args.command}: {refused}")
        return
    if args.command in ("keys", "amqp-users") and args.action != "list" and not args.target:
        sys.exit(f"{args.command} {args.action} needs a target")
    if args.command == "personal-data" and args.action == "erase" and not (
            args.ticket and args.requested_by):
        sys.exit("personal-data erase needs a ticket id and --requested-by")
    admin = ops.Admin.open()
    try:
        COMMANDS[args.command](admin, args)
    finally:
        admin.close()
