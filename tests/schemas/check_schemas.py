#!/usr/bin/python3
"""Validates Lumen's files against the JSON Schemas in schemas/.

  check_schemas.py --repo DIR --plugin-dir DIR [--run-dir DIR]

- every pipelines/*.yaml, plugins/**/pipelines/*.yaml and examples/**/pipeline.yaml of the
  repository against schemas/pipeline.schema.json;
- every lumen-*.json manifest in the plugin directory against plugin_manifest.schema.json
  (and stage_description.schema.json), plus: each stage is named `<set>.<verb>`, and the
  shared object named in `file` lies beside the manifest;
- with --run-dir, every line of RUN_DIR/logs/run_events.jsonl against run_events.schema.json,
  plus: each run starts with run_start, and `seq` never repeats within a run.

Needs Debian's python3-yaml and python3-jsonschema (>= 4, draft 2020-12): without them it
prints "SKIP: ..." and exits 77. Exit 0 when everything is valid, 1 otherwise.
"""

import argparse
import json
import pathlib
import sys

SKIP = 77

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e.name} is not installed (apt-get install python3-yaml python3-jsonschema)")
    sys.exit(SKIP)

if not hasattr(jsonschema, "Draft202012Validator"):
    print("SKIP: jsonschema is too old for draft 2020-12 (need python3-jsonschema >= 4)")
    sys.exit(SKIP)

SCHEMA_FILES = [
    "pipeline.schema.json",
    "run_events.schema.json",
    "stage_description.schema.json",
    "plugin_manifest.schema.json",
    "photon_store_attrs.schema.json",
    "photon_gain_fit.schema.json",
    "tiles_metadata.schema.json",
    "tiles_summary.schema.json",
    "ptycho_qc_meta.schema.json",
    "ptycho_qc_indices.schema.json",
]


class Checker:
    def __init__(self, schema_dir: pathlib.Path):
        self.problems: list[str] = []
        self.checked = 0
        self.schemas = {}
        for name in SCHEMA_FILES:
            schema = json.loads((schema_dir / name).read_text())
            jsonschema.Draft202012Validator.check_schema(schema)
            self.schemas[name] = schema
        self.validators = {name: self._validator(schema) for name, schema in self.schemas.items()}
        self.event_validators = {}

    def _validator(self, schema):
        """A validator that resolves $refs between our schemas without any network access."""
        by_id = {s["$id"]: s for s in self.schemas.values()}
        try:  # jsonschema >= 4.18
            import referencing
            import referencing.jsonschema

            registry = referencing.Registry().with_resources(
                (uri, referencing.Resource.from_contents(s, default_specification=referencing.jsonschema.DRAFT202012))
                for uri, s in by_id.items()
            )
            return jsonschema.Draft202012Validator(schema, registry=registry)
        except ImportError:  # jsonschema 4.10 (Debian 12)
            resolver = jsonschema.RefResolver.from_schema(schema, store=by_id)
            return jsonschema.Draft202012Validator(schema, resolver=resolver)

    def validate_event(self, doc, where: str) -> bool:
        """Against the oneOf of all events; on failure, explains with the branch `event` names."""
        self.checked += 1
        if self.validators["run_events.schema.json"].is_valid(doc):
            return True
        event = doc.get("event") if isinstance(doc, dict) else None
        known = [b["$ref"].rsplit("/", 1)[-1] for b in self.schemas["run_events.schema.json"]["oneOf"]]
        if event not in known:
            self.fail(where, f"event {event!r} is not one of {', '.join(known)}")
            return False
        if event not in self.event_validators:
            uri = self.schemas["run_events.schema.json"]["$id"]
            self.event_validators[event] = self._validator({"$ref": f"{uri}#/$defs/{event}"})
        for error in self.event_validators[event].iter_errors(doc):
            self.fail(where, f"{event}: {describe(error)}")
        return False

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def validate(self, schema_name: str, document, where: str) -> bool:
        self.checked += 1
        errors = sorted(self.validators[schema_name].iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            self.fail(where, describe(error))
        return not errors

    # --- pipelines -------------------------------------------------------------------
    def pipelines(self, repo: pathlib.Path) -> None:
        files = sorted(
            set(repo.glob("pipelines/*.yaml"))
            | set(repo.glob("plugins/**/pipelines/*.yaml"))
            | set(repo.glob("examples/**/pipeline.yaml"))
        )
        if not files:
            self.fail(str(repo), "no pipelines found (pipelines/*.yaml, examples/**/pipeline.yaml)")
        for f in files:
            where = str(f.relative_to(repo))
            try:
                doc = yaml.safe_load(f.read_text())
            except yaml.YAMLError as e:
                self.fail(where, f"not valid YAML: {e}")
                continue
            if self.validate("pipeline.schema.json", doc, where):
                self.pipeline_semantics(doc, where)

    def pipeline_semantics(self, doc, where: str) -> None:
        """What the schema cannot say: unique ids, `from` naming earlier stages only."""
        seen: set[str] = set()
        for i, stage in enumerate(doc["stages"]):
            sid = stage["id"]
            origin = stage.get("from", [])
            for upstream in [origin] if isinstance(origin, str) else origin:
                if upstream not in seen:
                    self.fail(where, f"stages[{i}] ({sid}): from '{upstream}' is not an earlier stage id")
            if sid in seen:
                self.fail(where, f"stages[{i}]: id '{sid}' is used twice")
            seen.add(sid)

    # --- plugin manifests --------------------------------------------------------------
    def manifests(self, plugin_dir: pathlib.Path) -> None:
        files = sorted(plugin_dir.glob("lumen-*.json"))
        if not files:
            self.fail(str(plugin_dir), "no plugin manifests lumen-*.json found")
        for f in files:
            where = str(f)
            try:
                doc = json.loads(f.read_text())
            except json.JSONDecodeError as e:
                self.fail(where, f"not valid JSON: {e}")
                continue
            if not self.validate("plugin_manifest.schema.json", doc, where):
                continue
            if not (plugin_dir / doc["file"]).is_file():
                self.fail(where, f"names file '{doc['file']}', which is not beside it")
            if f.name != f"lumen-{doc['set']}.json":
                self.fail(where, f"manifest of set '{doc['set']}' should be named lumen-{doc['set']}.json")
            for stage in doc["stages"]:
                if not stage["name"].startswith(doc["set"] + "."):
                    self.fail(where, f"stage '{stage['name']}' is not named '{doc['set']}.<verb>'")

    # --- run events --------------------------------------------------------------------
    def run_events(self, run_dir: pathlib.Path) -> None:
        events = run_dir / "logs" / "run_events.jsonl"
        if not events.is_file():
            self.fail(str(run_dir), "no logs/run_events.jsonl")
            return
        lines = events.read_text().splitlines()
        if not lines:
            self.fail(str(events), "is empty")
        seqs: set[int] = set()
        for n, line in enumerate(lines, start=1):
            where = f"{events}:{n}"
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as e:
                self.fail(where, f"not valid JSON: {e}")
                continue
            if not self.validate_event(doc, where):
                continue
            if n == 1 and doc["event"] != "run_start":
                self.fail(where, f"the first event is '{doc['event']}', expected run_start")
            if doc["event"] == "run_start":
                seqs = set()
            if doc["seq"] in seqs:
                self.fail(where, f"seq {doc['seq']} repeats within one run")
            seqs.add(doc["seq"])


def describe(error) -> str:
    """One line: where in the document, and what is wrong."""
    path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "not" and error.validator_value == {"required": ["default"]}:
        return f"{path}: a required parameter must not have a 'default' (remove it, or set required to false)"
    return f"{path}: {error.message}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, type=pathlib.Path, help="repository root (has schemas/)")
    parser.add_argument("--plugin-dir", required=True, type=pathlib.Path, help="directory of lumen-*.so/.json")
    parser.add_argument("--run-dir", type=pathlib.Path, help="a run directory to check the events of")
    args = parser.parse_args()

    checker = Checker(args.repo / "schemas")
    checker.pipelines(args.repo)
    checker.manifests(args.plugin_dir)
    if args.run_dir:
        checker.run_events(args.run_dir)

    for problem in checker.problems:
        print(f"INVALID: {problem}")
    status = "FAIL" if checker.problems else "OK"
    print(f"{status}: {checker.checked} documents checked, {len(checker.problems)} problems")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
