"""bwc-policy benchmarks: both backends on generated and bundled rulesets, compile time, streaming
memory, and the peer comparison, all in one run. Writes benchmarks/results.json (atomically) and
prints Markdown tables.

    .venv/bin/python benchmarks/run.py            # full run (several minutes)
    .venv/bin/python benchmarks/run.py --quick    # smoke run (seconds; results.quick.json)
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as md
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import generate, peers  # noqa: E402
from engine.api import Policy, make_backend  # noqa: E402
from engine.core import program as program_mod  # noqa: E402
from policy.files import ruleset_files  # noqa: E402
from policy.loader import check_file, load_ruleset_text  # noqa: E402

SIZES = (10, 100, 1000)
PEER_ENGINES = ("plain_python", "closures", "zen", "cedar", "rego", "durable_rules")


def backends() -> tuple[list[str], str | None]:
    """The backends to measure, and why rete is left out (if it is)."""
    try:
        import engine.core.backends.rete  # noqa: F401
    except Exception as exc:  # the rete backend may not exist yet, or durable-rules may be missing
        return ["native"], f"rete skipped: importing engine.core.backends.rete failed ({type(exc).__name__}: {exc})"
    return ["native", "rete"], None


def per_call_us(fn: Callable[[Any], Any], items: list[Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for i in items:
            fn(i)
        return (time.perf_counter_ns() - t0) / len(items) / 1000.0
    finally:
        gc.enable()


def event_latencies(policy: Policy, incidents: list[dict[str, Any]]) -> list[float]:
    """Microseconds per `IncidentSession.add`, one sample per event, streaming each incident."""
    samples = []
    clock = time.perf_counter_ns
    for inc in incidents:
        session = policy.session(inc["id"], inc["timezone"], inc["facts"])
        for ev in inc["events"]:
            t0 = clock()
            session.add(ev)
            samples.append((clock() - t0) / 1000.0)
    return samples


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def try_bench(program: Any, backend: str, incidents: list[dict[str, Any]], n_stream: int) -> dict[str, Any]:
    """bench_policy, or the error a backend raised (reported in the results, not fatal)."""
    try:
        return bench_policy(Policy(program, backend), incidents, incidents[:n_stream])  # type: ignore[arg-type]
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def bench_policy(policy: Policy, incidents: list[dict[str, Any]], stream: list[dict[str, Any]]) -> dict[str, Any]:
    events = sum(len(i["events"]) for i in incidents)
    read = [policy.read(i) for i in incidents]
    decide_us = per_call_us(policy.decide, incidents)
    fire_us = per_call_us(policy.backend.firings, read)
    lat = event_latencies(policy, stream)
    return {"decide_us": round(decide_us, 2), "decisions_per_s": round(1e6 / decide_us),
            "firings_us_per_event": round(fire_us * len(read) / events, 3),
            "event_latency_median_us": round(statistics.median(lat), 1),
            "event_latency_p99_us": round(pct(lat, 0.99), 1), "events_streamed": len(lat)}


def compile_times(text: str, repeats: int) -> dict[str, float]:
    load, comp = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rs = load_ruleset_text(text)
        t1 = time.perf_counter()
        program_mod._CACHE.clear()
        prog = program_mod.compile_ruleset(rs)
        t2 = time.perf_counter()
        load.append(t1 - t0)
        comp.append(t2 - t1)
    build = {}
    for name in backends()[0]:
        t0 = time.perf_counter()
        try:
            make_backend(prog, name)  # type: ignore[arg-type]
        except Exception:
            continue
        build[f"{name}_backend_ms"] = round((time.perf_counter() - t0) * 1e3, 2)
    return {"load_ms": round(statistics.median(load) * 1e3, 2), "compile_ms": round(statistics.median(comp) * 1e3, 2),
            **build}


def streaming_memory(policy: Policy, incidents: Iterable[dict[str, Any]], n: int) -> dict[str, Any]:
    """tracemalloc while streaming `n` incidents event by event: every session kept open to the end
    (what 10,000 live incidents hold), and the peak."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sessions = []
    for inc in incidents:
        s = policy.session(inc["id"], inc["timezone"], inc["facts"])
        for ev in inc["events"]:
            s.add(ev)
        sessions.append(s)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = current - before
    return {"incidents": len(sessions), "held_mib": round(held / 2**20, 2),
            "held_mib_per_10k": round(held / 2**20 * 10_000 / n, 2), "peak_mib": round((peak - before) / 2**20, 2),
            "bytes_per_incident": round(held / n)}


# --- peers -----------------------------------------------------------------------------------------

def bench_peers(quick: bool, seed: int, log: Callable[..., None]) -> dict[str, Any]:
    pb = peers.load_peers()
    if pb is None:
        return {"skipped": "peers_bench.py or orjson not available"}
    pols = peers.policies(pb)
    n_verify = 500 if quick else 10_000
    n_time, n_slow, repeats = (300, 100, 1) if quick else (20_000, 2_000, 3)
    deciders: dict[tuple[str, str], Callable[[Any], Any]] = {}
    errors: dict[str, str] = {}
    for variant in ("base", "scaled"):
        deciders["bwc_decide", variant] = peers.decide_full(pols[variant])
        deciders["bwc_json", variant] = peers.decide_full(pols[variant], to_json=True)
        for name in PEER_ENGINES:
            builder = {"plain_python": pb.build_plain, "closures": pb.build_closures, "zen": pb.build_zen,
                       "cedar": pb.build_cedar, "rego": pb.build_rego, "durable_rules": pb.build_durable}[name]
            try:
                deciders[name, variant] = builder(variant)
            except Exception as exc:  # an engine that is not installed is reported, not fatal
                errors[name] = f"{type(exc).__name__}: {exc}"
    names = [n for n in ("plain_python", "bwc_decide", "bwc_json", *PEER_ENGINES[1:]) if n not in errors]
    verify: dict[str, Any] = {}
    check = pb.incidents(n_verify, seed + 1)
    for variant in ("base", "scaled"):
        ref = [deciders["plain_python", variant](i) for i in check]
        for name in ("bwc_decide", "bwc_json"):
            bad = [i for i, want in zip(check, ref, strict=True) if deciders[name, variant](i) != want]
            verify[f"{variant}/{name}"] = {"checked": len(check), "mismatches": len(bad), "examples": bad[:2]}
            log(f"verify {variant} {name}: {len(bad)} mismatches of {len(check)}")
    items = pb.incidents(n_time, seed)
    slow = {"cedar", "rego", "durable_rules"}
    reps: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):  # round-robin, so drift hits every engine alike
        for variant in ("base", "scaled"):
            for name in names:
                us = per_call_us(deciders[name, variant], items[:n_slow] if name in slow else items)
                reps.setdefault((name, variant), []).append(us)
    timing: dict[str, Any] = {}
    for variant in ("base", "scaled"):
        plain = statistics.median(reps["plain_python", variant])
        all4 = [n for n in names if n not in ("plain_python", "closures", "cedar") and not n.startswith("bwc")]
        fastest = min(all4, key=lambda n: statistics.median(reps[n, variant])) if all4 else None
        fastest_us = statistics.median(reps[fastest, variant]) if fastest else None
        rows = {}
        for name in names:
            med = statistics.median(reps[name, variant])
            rows[name] = {"median_us": round(med, 2), "decisions_per_s": round(1e6 / med),
                          "x_plain": round(med / plain, 1),
                          "fastest_peer_over_this": round(fastest_us / med, 2) if fastest_us else None,
                          "per_rep_us": [round(x, 2) for x in reps[name, variant]],
                          "timed_on": len(items[:n_slow] if name in slow else items)}
        timing[variant] = {"fastest_peer": fastest, "rows": rows}
    return {"n_verify": n_verify, "n_time": n_time, "n_time_slow_engines": n_slow, "repeats": repeats,
            "rules": {"base": len(pols["base"].program.rules), "scaled": len(pols["scaled"].program.rules)},
            "errors": errors, "verify": verify, "timing": timing}


# --- main ------------------------------------------------------------------------------------------

def pin_cpu() -> int | None:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return cpus[-1]
    except (AttributeError, OSError):
        return None


def versions() -> dict[str, str]:
    out = {}
    for p in ("pydantic", "durable-rules", "zen-engine", "cedarpy", "regopy", "orjson"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "not installed"
    return out


def run(quick: bool = False, seed: int = 20240601, log: Callable[..., None] = print,
        pin: bool = True) -> dict[str, Any]:
    names, note = backends()
    cpu = pin_cpu() if pin else None
    n_inc, n_stream, n_mem = (60, 20, 200) if quick else (2_000, 300, 10_000)
    result: dict[str, Any] = {"meta": {
        "quick": quick, "seed": seed, "python": sys.version.split()[0], "platform": platform.platform(),
        "cpus": os.cpu_count(), "pinned_cpu": cpu, "backends": names, "note": note, "versions": versions(),
        "incidents_per_size": n_inc, "incidents_streamed": n_stream, "incidents_for_memory": n_mem}}
    if note:
        log(note)

    generated: dict[str, Any] = {}
    for n in SIZES:
        text = generate.ruleset_yaml(n, seed)
        entry: dict[str, Any] = {"compile": compile_times(text, 1 if quick else 5)}
        program = program_mod.compile_ruleset(load_ruleset_text(text))
        incidents = generate.incidents(n_inc, seed + n, rules=n)
        entry["events_per_incident"] = round(sum(len(i["events"]) for i in incidents) / len(incidents), 2)
        for b in names:
            entry[b] = try_bench(program, b, incidents, n_stream)
            log(f"generated {n:>5} rules, {b}: {entry[b]}")
        generated[str(n)] = entry
    base = generated[str(SIZES[0])]
    for n in SIZES:
        e = generated[str(n)]
        for b in names:
            if "error" in e[b] or "error" in base[b]:
                continue
            e[b]["firings_per_event_x_10_rules"] = round(
                e[b]["firings_us_per_event"] / base[b]["firings_us_per_event"], 2)
            e[b]["decide_x_10_rules"] = round(e[b]["decide_us"] / base[b]["decide_us"], 2)
        if "rete" in names and "error" not in e["rete"] and "error" not in e["native"]:
            e["rete_over_native"] = {k: round(e["rete"][k] / e["native"][k], 2)
                                     for k in ("decide_us", "firings_us_per_event", "event_latency_median_us")}
    result["generated"] = generated

    bundled: dict[str, Any] = {}
    for path in ruleset_files([ROOT / "rulesets"]):
        checked = check_file(path)
        if checked.ruleset is None:  # an invalid file is reported, not benchmarked
            bundled[str(path.relative_to(ROOT))] = {"invalid": [str(d) for d in checked.diagnostics][:3]}
            log(f"bundled {path}: invalid, skipped")
            continue
        rs = checked.ruleset
        program = program_mod.compile_ruleset(rs)
        incidents = generate.incidents(n_inc, seed + 7, rules=10)
        for inc in incidents:
            inc["timezone"] = rs.timezone
        entry = {"rules": len(program.rules)}
        for b in names:
            entry[b] = try_bench(program, b, incidents, n_stream)
            log(f"bundled {rs.ref}, {b}: {entry[b]}")
        bundled[rs.ref] = entry
    result["bundled"] = bundled

    memory: dict[str, Any] = {}
    program = program_mod.compile_ruleset(load_ruleset_text(generate.ruleset_yaml(100, seed)))
    for b in names:
        try:
            memory[b] = streaming_memory(Policy(program, b), generate.incidents(n_mem, seed + 3, rules=100),  # type: ignore[arg-type]
                                         n_mem)
        except Exception as exc:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            memory[b] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        log(f"memory {b}: {memory[b]}")
    result["memory"] = {"ruleset_rules": 100, **memory}

    result["peers"] = bench_peers(quick, seed, log)
    return result


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


def markdown(r: dict[str, Any]) -> str:
    names = r["meta"]["backends"]
    errors = [f"- {where} {b}: {e[b]['error']}" for where, group in (("generated", r["generated"]),
                                                                     ("bundled", r["bundled"]))
              for e in group.values() for b in names if "error" in e[b]]
    out = ["### Generated rulesets", "",
           "| rules | load ms | compile ms | " + " | ".join(
               f"{b} backend ms | {b} decide µs | {b} decisions/s | {b} firings µs/event (x 10 rules) "
               f"| {b} event median / p99 µs" for b in names) + (" | rete / native decide |" if "rete" in names
                                                                   else " |"),
           "|" + "--:|" * (3 + 5 * len(names) + ("rete" in names))]
    for n, e in r["generated"].items():
        c = e["compile"]
        cells = [n, f"{c['load_ms']:.1f}", f"{c['compile_ms']:.1f}"]
        for b in names:
            x = e[b]
            built = f"{c[f'{b}_backend_ms']:.1f}" if f"{b}_backend_ms" in c else "failed"
            if "error" in x:
                cells += [built, "error", "", "", ""]
                continue
            cells += [built, f"{x['decide_us']:.1f}", f"{x['decisions_per_s']:,}",
                      f"{x['firings_us_per_event']:.2f} ({x.get('firings_per_event_x_10_rules', '-')}x)",
                      f"{x['event_latency_median_us']:.0f} / {x['event_latency_p99_us']:.0f}"]
        if "rete" in names:
            cells.append(f"{e['rete_over_native']['decide_us']}" if "rete_over_native" in e else "-")
        out.append("| " + " | ".join(cells) + " |")
    if errors:
        out += ["", "Errors:", *errors]
    out += ["", "### Bundled rulesets", "", "| ruleset | rules | " + " | ".join(
        f"{b} decide µs | {b} decisions/s | {b} event median / p99 µs" for b in names) + " |",
        "|---|--:|" + "--:|" * (3 * len(names))]
    for ref, e in r["bundled"].items():
        if "invalid" in e:
            out.append(f"| {ref} | invalid (skipped) |" + " |" * (3 * len(names)))
            continue
        cells = [ref, str(e["rules"])]
        for b in names:
            x = e[b]
            if "error" in x:
                cells += ["error", "", ""]
                continue
            cells += [f"{x['decide_us']:.1f}", f"{x['decisions_per_s']:,}",
                      f"{x['event_latency_median_us']:.0f} / {x['event_latency_p99_us']:.0f}"]
        out.append("| " + " | ".join(cells) + " |")
    m = r["memory"]
    out += ["", f"### Streaming memory ({m['ruleset_rules']}-rule generated ruleset, every session kept open)", "",
            "| backend | incidents | held MiB | MiB per 10,000 incidents | peak MiB |", "|---|--:|--:|--:|--:|"]
    for b in names:
        x = m[b]
        if "error" in x:
            out.append(f"| {b} | error: {x['error'][:80]} | | | |")
            continue
        out.append(f"| {b} | {x['incidents']:,} | {x['held_mib']} | {x['held_mib_per_10k']} | {x['peak_mib']} |")
    p = r["peers"]
    if "skipped" in p:
        out += ["", f"Peers: skipped ({p['skipped']})."]
        return "\n".join(out) + "\n"
    mism = sum(v["mismatches"] for v in p["verify"].values())
    out += ["", f"### Peer comparison ({p['rules']['base']} / {p['rules']['scaled']} rules; verified against "
            f"plain Python on {p['n_verify']:,} incidents per variant: {mism} mismatches)", "",
            "| engine | base µs | base dec/s | base x plain | fastest peer ÷ this (base) | scaled µs | scaled x plain "
            "| fastest peer ÷ this (scaled) |", "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name, b in p["timing"]["base"]["rows"].items():
        s = p["timing"]["scaled"]["rows"][name]
        out.append(f"| {name} | {b['median_us']:.2f} | {b['decisions_per_s']:,} | {b['x_plain']} "
                   f"| {b['fastest_peer_over_this']} | {s['median_us']:.2f} | {s['x_plain']} "
                   f"| {s['fastest_peer_over_this']} |")
    out.append("")
    out.append(f"Fastest peer deciding all four outputs: base `{p['timing']['base']['fastest_peer']}`, scaled "
               f"`{p['timing']['scaled']['fastest_peer']}`."
               + (f" Not measured: {p['errors']}." if p["errors"] else ""))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke run in seconds (writes results.quick.json)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", type=Path, default=None, help="where to write the JSON results")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = ap.parse_args(argv)
    result = run(args.quick, args.seed, log=lambda *a: print(*a, file=sys.stderr, flush=True), pin=not args.no_pin)
    out = args.out or Path(__file__).parent / ("results.quick.json" if args.quick else "results.json")
    write_atomic(out, result)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
