#!/usr/bin/env python3
"""Generate realistic, deterministic sample span exports for Lens (data/samples/).

A seeded world (12 developers in 3 teams, 6 repos, 6 models + one unknown model, 25 tools)
produces 30 days of Claude Code sessions traced through a LiteLLM proxy: one trace per model
request (`litellm_request` root, `raw_gen_ai_request`, `Claude_Code_Internal_Prompt_N`,
`Claude_Code_Final_Output_N`, `Claude_Code_Tool_<Tool>` spans, Task sub-agents). The spans
are then cut by date into five files, one per export layout Lens reads (Arize flat JSONL.gz,
Phoenix dataframe Parquet, Phoenix REST JSON, OTLP/JSON, flat CSV), with a few deliberate
defects (malformed records, verbatim duplicates) listed in README.md and manifest.json.

    .venv/bin/python scripts/make_samples.py [--out data/samples] [--spans 24000] [--seed 7]
                                             [--end-date 2026-11-24]

Only the standard library, pyarrow and pyyaml are used. The same flags give byte-identical files.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import random
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

DAYS = 30
REJECTED = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a "
    "file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the "
    "user to tell you how to proceed."
)
BLACKOUT = "redacted-by-litellm"
UNKNOWN_MODEL = "acme-internal-coder-v2"

# ---------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------

TEAMS = {
    "platform": [("alice", "Alice Moreau"), ("bruno", "Bruno Silva"), ("chen", "Chen Wei"), ("dana", "Dana Kowalski")],
    "payments": [("emeka", "Emeka Okafor"), ("fatima", "Fatima Haddad"), ("gus", "Gus Lindqvist"), ("hana", "Hana Sato")],
    "mobile": [("ivan", "Ivan Petrov"), ("julia", "Julia Costa"), ("kofi", "Kofi Mensah"), ("lena", "Lena Vogel")],
}
UNMAPPED = "lena"  # her ids are left out of identity.yaml
UPPERCASE_ALIAS = "bruno"  # his email is written in upper case in identity.yaml

REPOS = {
    "platform": ["platform-infra", "auth-service"],
    "payments": ["payments-api", "ledger-worker"],
    "mobile": ["mobile-app", "design-system"],
}

# model, provider, weight as a session's main model
MAIN_MODELS = [
    ("claude-sonnet-4-5-20250929", "anthropic", 66),
    ("claude-opus-4-1-20250805", "anthropic", 14),
    ("gpt-4o-2024-08-06", "openai", 9),
    ("gemini-2.5-pro", "google", 11),
]
SMALL_MODELS = [("claude-haiku-4-5-20251001", "anthropic", 65), ("claude-3-5-haiku-20241022", "anthropic", 35)]
PROVIDER = {m: p for m, p, _ in MAIN_MODELS + SMALL_MODELS}
PROVIDER[UNKNOWN_MODEL] = "openai"
# rough $/Mtok (input, output) for the few spans that carry a reported cost
PRICE = {
    "claude-sonnet-4-5-20250929": (3.0, 15.0), "claude-opus-4-1-20250805": (15.0, 75.0),
    "claude-haiku-4-5-20251001": (1.0, 5.0), "claude-3-5-haiku-20241022": (0.8, 4.0),
    "gpt-4o-2024-08-06": (2.5, 10.0), "gemini-2.5-pro": (1.25, 10.0),
}

TOOL_WEIGHTS = {
    "Read": 22, "Bash": 17, "Edit": 15, "Grep": 11, "Glob": 5, "Write": 4, "MultiEdit": 3, "TodoWrite": 4,
    "Task": 2.5, "LS": 2, "WebFetch": 1.2, "WebSearch": 1.2, "BashOutput": 1, "KillShell": 0.4, "Skill": 0.7,
    "NotebookEdit": 0.35, "NotebookRead": 0.35, "ExitPlanMode": 0.5, "SlashCommand": 0.5,
    "mcp__github__create_pull_request": 0.4, "mcp__github__get_issue": 0.5, "mcp__linear__create_issue": 0.35,
    "mcp__playwright__browser_navigate": 0.35, "mcp__sentry__get_error": 0.35, "mcp__postgres__query": 0.4,
}
TOOLS = list(TOOL_WEIGHTS)
EDIT_TOOLS = {"Edit", "Write", "MultiEdit"}

FILES = {
    "platform-infra": ["terraform/modules/vpc/main.tf", "k8s/deploy/ingress.yaml", "scripts/rotate_keys.py", "src/infra/dns.py"],
    "auth-service": ["src/auth/tokens.py", "src/auth/middleware.py", "tests/test_tokens.py", "src/auth/oidc.py"],
    "payments-api": ["src/payments/refunds.py", "src/payments/api/routes.py", "tests/test_refunds.py", "src/payments/models.py"],
    "ledger-worker": ["ledger/worker.go", "ledger/reconcile.go", "ledger/reconcile_test.go", "cmd/ledger/main.go"],
    "mobile-app": ["app/src/screens/Checkout.tsx", "app/src/api/client.ts", "app/src/hooks/useCart.ts", "ios/Podfile"],
    "design-system": ["src/components/Button.tsx", "src/tokens/colors.ts", "src/components/Modal.tsx", "stories/Button.stories.tsx"],
}
PROMPTS = [
    "Fix the failing test in {f} and explain what was wrong.",
    "Add input validation to {f}; reject negative amounts with a clear error.",
    "Refactor {f} so the retry logic lives in one helper, keep behaviour identical.",
    "Why does {f} time out under load? Look at the connection handling.",
    "Write unit tests for the edge cases in {f} (empty input, unicode, very large values).",
    "Rename the config flag used in {f} and update every caller.",
    "Review {f} for security problems and fix anything obvious.",
    "Add structured logging to {f} with request ids.",
    "The CI build is red after the last merge; find the cause starting from {f}.",
    "Port the helper in {f} to the new API client and remove the deprecated import.",
]
ANSWERS = [
    "I found the problem: the handler compares timezone-aware and naive datetimes, so the window check always fails after midnight UTC. I normalised both sides to UTC and added a regression test.",
    "Done. The validation now rejects negative and zero amounts before the database call, returns a 422 with a field-level message, and the existing tests still pass.",
    "I moved the retry loop into `with_retries()` with exponential backoff and jitter; both call sites use it now. Behaviour is unchanged except that the max delay is capped at 8 s.",
    "The pool was created per request and never closed, so connections piled up until the upstream limit. I made it a module-level pool with a bounded size and added a close hook.",
    "Added 6 tests covering empty input, unicode names, overflow on very large amounts and the rounding mode. Two of them fail on main, which confirms the bug you reported.",
    "Let me look at the current implementation first, then I'll make the change in small steps and run the tests after each one.",
]
CODE_LINES = [
    "def apply_refund(order, amount):", "    if amount <= 0:", "        raise ValueError(\"amount must be positive\")",
    "    with db.transaction() as tx:", "        tx.insert(Refund(order_id=order.id, amount=amount))", "    return amount",
    "const total = items.reduce((sum, i) => sum + i.price * i.qty, 0);", "export function useCart() {",
    "  const [items, setItems] = useState<Item[]>([]);", "func (r *Reconciler) Run(ctx context.Context) error {",
    "\tfor _, entry := range r.pending {", "resource \"aws_vpc\" \"main\" {", "  cidr_block = var.cidr",
    "logger.info(\"token refreshed\", extra={\"request_id\": rid})", "    retries = retries + 1",
    "if (!response.ok) throw new ApiError(response.status);", "    return jwt.decode(token, key, algorithms=[\"RS256\"])",
]
BASH_COMMANDS = [
    ("pytest -q tests/", "Run the test suite"), ("git status --short", "Show working tree status"),
    ("npm run lint", "Lint the project"), ("go test ./...", "Run Go tests"), ("ls -la src", "List source files"),
    ("git diff --stat", "Show diff summary"), ("make build", "Build the project"), ("rg -n TODO src", "Find TODOs"),
]
SKILLS = ["pdf", "xlsx", "changelog-writer", "security-review"]
ERRORS = [
    ("litellm.RateLimitError", "litellm.RateLimitError: AnthropicException - {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"This request would exceed the rate limit for your organization of 400,000 input tokens per minute.\"}}"),
    ("litellm.InternalServerError", "litellm.InternalServerError: AnthropicException - {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
    ("litellm.Timeout", "litellm.Timeout: Connection timed out after 600.0 seconds."),
]


@dataclass
class Developer:
    key: str
    name: str
    team: str
    email: str
    account_uuid: str
    device_id: str
    repos: list[str]
    activity: float


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attrs: dict
    status: str = "OK"
    status_message: str = ""
    events: list = field(default_factory=list)
    day: int = 0


def uuid4_like(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.randrange(4)]}{h[17:20]}-{h[20:]}"


def make_developers(rng: random.Random) -> list[Developer]:
    devs = []
    for team, members in TEAMS.items():
        for key, name in members:
            own = REPOS[team]
            other = [r for t, rs in REPOS.items() if t != team for r in rs]
            repos = own + ([rng.choice(other)] if rng.random() < 0.4 else [])
            devs.append(Developer(
                key=key, name=name, team=team, email=f"{key}@acme.dev", account_uuid=uuid4_like(rng),
                device_id="%064x" % rng.getrandbits(256), repos=repos, activity=rng.uniform(0.5, 1.6),
            ))
    return devs


# ---------------------------------------------------------------------------------------------
# Sessions -> traces -> spans
# ---------------------------------------------------------------------------------------------

B62 = string.ascii_letters + string.digits


class World:
    def __init__(self, rng: random.Random, end_date: date) -> None:
        self.rng = rng
        self.devs = make_developers(rng)
        self.first_day = end_date - timedelta(days=DAYS - 1)
        self.old_days = 12  # days before this index use the older span shapes
        self.spans: list[Span] = []
        self.roots: list[Span] = []  # litellm_request roots (not sub-agents)
        self.session_count = 0

    # ids ---------------------------------------------------------------------------------------
    def hex(self, n: int) -> str:
        return "%0*x" % (n, self.rng.getrandbits(4 * n))

    def toolu(self) -> str:
        return "toolu_01" + "".join(self.rng.choice(B62) for _ in range(22))

    # time ----------------------------------------------------------------------------------------
    def session_start_ns(self) -> tuple[int, int]:
        rng = self.rng
        while True:
            day = rng.randrange(DAYS)
            d = self.first_day + timedelta(days=day)
            if d.weekday() >= 5 and rng.random() > 0.15:
                continue
            # working hours in UTC: most 08-18, a few evening sessions
            hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 4, 9, 12, 13, 12, 8, 11, 13, 12, 10, 7, 4, 3, 3, 2, 2, 1])[0]
            start = datetime(d.year, d.month, d.day, hour, tzinfo=timezone.utc) + timedelta(seconds=rng.uniform(0, 3600))
            return day, int(start.timestamp() * 1e9)

    def llm_latency_ns(self) -> int:
        s = min(40.0, max(0.8, self.rng.lognormvariate(1.3, 0.75)))
        return int(s * 1e9)

    def tool_latency_ns(self, tool: str) -> int:
        rng = self.rng
        if tool in ("Bash", "WebFetch", "WebSearch") or tool.startswith("mcp__"):
            s = rng.lognormvariate(0.2, 1.2)
        else:
            s = rng.lognormvariate(-3.5, 0.9)
        return int(min(30.0, max(0.005, s)) * 1e9)

    # content -------------------------------------------------------------------------------------
    def code(self, lo: int, hi: int) -> str:
        return "\n".join(self.rng.choice(CODE_LINES) for _ in range(self.rng.randint(lo, hi)))

    def tool_call(self, tool: str, repo: str, dev: Developer) -> tuple[dict, str, bool]:
        """(tool input, tool result text, failed?) for one call."""
        rng = self.rng
        f = rng.choice(FILES[repo])
        path = f"/home/{dev.key}/src/{repo}/{f}"
        failed = False
        if tool == "Read":
            inp = {"file_path": path}
            out = "\n".join(f"{i:>6}\u2192{line}" for i, line in enumerate(self.code(4, 9).split("\n"), start=rng.randint(1, 200)))
        elif tool == "Edit":
            inp = {"file_path": path, "old_string": self.code(1, 3), "new_string": self.code(1, 6)}
            out = f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n" + self.code(2, 4)
        elif tool == "Write":
            inp = {"file_path": path, "content": self.code(5, 14)}
            out = f"File created successfully at: {path}"
        elif tool == "MultiEdit":
            edits = [{"old_string": self.code(1, 2), "new_string": self.code(1, 4)} for _ in range(rng.randint(2, 3))]
            inp = {"file_path": path, "edits": edits}
            out = f"Applied {len(edits)} edits to {path}:\n" + "\n".join(
                f"{i}. Replaced \"{e['old_string'][:30]}...\" with \"{e['new_string'][:30]}...\"" for i, e in enumerate(edits, 1))
        elif tool == "Bash":
            cmd, desc = rng.choice(BASH_COMMANDS)
            inp = {"command": cmd, "description": desc}
            failed = rng.random() < 0.08
            out = ("Exit code 1\nFAILED tests/test_refunds.py::test_partial_refund - AssertionError: 10 != 12\n1 failed, 41 passed in 3.2s"
                   if failed else rng.choice(["42 passed in 3.12s", " M src/payments/refunds.py\n?? tests/test_new.py",
                                              "ok  \tacme/ledger\t0.412s", "Build succeeded in 14.2s", "src/app.py:12: TODO retry"]))
        elif tool == "Grep":
            inp = {"pattern": rng.choice(["def apply_refund", "useCart", "TODO", "retry", "RS256"]), "path": f"/home/{dev.key}/src/{repo}", "output_mode": "files_with_matches"}
            out = "\n".join(rng.sample(FILES[repo], rng.randint(1, 3)))
        elif tool == "Glob":
            inp = {"pattern": rng.choice(["**/*.py", "src/**/*.ts", "**/*_test.go", "**/*.tf"])}
            out = "\n".join(f"/home/{dev.key}/src/{repo}/{x}" for x in rng.sample(FILES[repo], 3))
        elif tool == "LS":
            inp = {"path": f"/home/{dev.key}/src/{repo}"}
            out = "- src/\n- tests/\n- README.md\n- pyproject.toml"
        elif tool == "Task":
            inp = {"description": "Investigate failing tests", "prompt": f"Find every caller of the function changed in {f} and report which ones need updating.", "subagent_type": "general-purpose"}
            out = "The sub-agent found 3 callers; two already pass the new argument, one in the CLI needs updating."
        elif tool == "TodoWrite":
            todos = [{"content": c, "status": rng.choice(["pending", "in_progress", "completed"]), "activeForm": c} for c in rng.sample(["Reproduce the bug", "Write a failing test", "Fix the handler", "Run the suite", "Update docs"], 3)]
            inp = {"todos": todos}
            out = "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress."
        elif tool == "WebFetch":
            inp = {"url": rng.choice(["https://docs.python.org/3/library/datetime.html", "https://docs.litellm.ai/docs/proxy/logging"]), "prompt": "Summarise the timezone handling rules"}
            out = "The page explains that aware and naive datetimes cannot be compared; use datetime.now(timezone.utc)."
        elif tool == "WebSearch":
            inp = {"query": rng.choice(["stripe idempotency key refunds", "react native useEffect cleanup", "terraform vpc endpoints"])}
            out = "Found 8 results: 1. Idempotent requests | Stripe docs ..."
        elif tool == "BashOutput":
            inp = {"bash_id": f"bash_{rng.randint(1, 9)}"}
            out = "<status>running</status>\n<stdout>Compiling... 63%</stdout>"
        elif tool == "KillShell":
            inp = {"shell_id": f"bash_{rng.randint(1, 9)}"}
            out = "Successfully killed shell"
        elif tool == "Skill":
            inp = {"skill": rng.choice(SKILLS)}
            out = "Launching skill"
        elif tool == "NotebookEdit":
            inp = {"notebook_path": f"/home/{dev.key}/src/{repo}/notebooks/analysis.ipynb", "cell_id": "cell-3", "new_source": "df.groupby('day').sum()"}
            out = "Updated cell cell-3"
        elif tool == "NotebookRead":
            inp = {"notebook_path": f"/home/{dev.key}/src/{repo}/notebooks/analysis.ipynb"}
            out = "<cell id=\"cell-1\">import pandas as pd</cell>"
        elif tool == "ExitPlanMode":
            inp = {"plan": "1. Add a failing test\n2. Fix the comparison\n3. Run the suite"}
            out = "User has approved your plan. You can now start coding."
        elif tool == "SlashCommand":
            inp = {"command": rng.choice(["/review", "/test", "/compact"])}
            out = "Command executed"
        elif tool == "mcp__github__create_pull_request":
            inp = {"owner": "acme", "repo": repo, "title": "Fix refund window check", "head": f"{dev.key}/fix", "base": "main"}
            out = f"{{\"number\": {rng.randint(100, 999)}, \"html_url\": \"https://github.com/acme/{repo}/pull/{rng.randint(100, 999)}\"}}"
        elif tool == "mcp__github__get_issue":
            inp = {"owner": "acme", "repo": repo, "issue_number": rng.randint(10, 500)}
            out = "{\"title\": \"Refunds fail after midnight\", \"state\": \"open\"}"
        elif tool == "mcp__linear__create_issue":
            inp = {"title": "Follow-up: flaky reconcile test", "teamId": dev.team.upper()}
            out = "{\"id\": \"LIN-482\", \"url\": \"https://linear.app/acme/issue/LIN-482\"}"
        elif tool == "mcp__playwright__browser_navigate":
            inp = {"url": "http://localhost:3000/checkout"}
            out = "Navigated to http://localhost:3000/checkout (title: Checkout)"
        elif tool == "mcp__sentry__get_error":
            inp = {"issue_id": f"ACME-{rng.randint(1000, 9999)}"}
            out = "TypeError: can't compare offset-naive and offset-aware datetimes (refunds.py:88), 214 events"
        else:  # mcp__postgres__query
            inp = {"sql": "select status, count(*) from refunds group by 1"}
            out = "[{\"status\": \"pending\", \"count\": 12}, {\"status\": \"done\", \"count\": 3401}]"
        if tool in EDIT_TOOLS and rng.random() < 0.12:
            out = REJECTED
        return inp, out, failed

    # spans -----------------------------------------------------------------------------------------
    def end_user(self, dev: Developer, session_id: str, day: int) -> tuple[str, bool]:
        """LiteLLM's user_api_key_end_user_id and whether it is junk."""
        r = self.rng.random()
        if r < 0.03:
            return self.rng.choice(["unknown", "null", "", "None"]), True
        if day < self.old_days and r < 0.23:
            return f"user_{dev.device_id}_account_{dev.account_uuid}_session_{session_id}", False
        return json.dumps({"device_id": dev.device_id, "account_uuid": dev.account_uuid, "session_id": session_id}), False

    def add(self, span: Span) -> Span:
        self.spans.append(span)
        return span

    def blocks(self, text: str, calls: list[tuple[str, str, dict]]) -> str:
        content = [{"type": "text", "text": text}] + [
            {"type": "tool_use", "id": tid, "name": tool, "input": inp} for tid, tool, inp in calls]
        return repr(content) if self.rng.random() < 0.35 else json.dumps(content)

    def llm_span(self, trace: str, parent: str | None, name: str, start: int, latency: int, model: str,
                 day: int, ctx: dict, prompt_text: str, calls: list, tokens: tuple[int, int, int, int] | None) -> Span:
        """A litellm_request span (root or sub-agent). tokens = (fresh, cache_read, cache_write, completion)."""
        rng = self.rng
        dev, session_id = ctx["dev"], ctx["session"]
        eu, junk = self.end_user(dev, session_id, day)
        meta: dict = {"user_api_key_end_user_id": eu, "user_api_key_alias": f"claude-code-{dev.team}",
                      "model_group": model, "litellm_call_id": uuid4_like(rng)}
        if ctx["use_repo"]:
            meta["repo"] = ctx["repo"]
        if ctx["use_cwd"]:
            meta["cwd"] = f"/home/{dev.key}/src/{ctx['repo']}"
        attrs: dict = {"openinference.span.kind": "LLM", "llm.model_name": model, "llm.provider": PROVIDER[model],
                       "service.name": "litellm"}
        if tokens is not None:
            fresh, cread, cwrite, completion = tokens
            prompt = fresh + cread + cwrite
            attrs["llm.token_count.prompt"] = prompt
            attrs["llm.token_count.completion"] = completion
            attrs["llm.token_count.total"] = prompt + completion
            if day >= self.old_days:
                attrs["llm.token_count.prompt_details.cache_read"] = cread
                attrs["llm.token_count.prompt_details.cache_write"] = cwrite
            else:
                meta["usage_object"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                                        "cache_read_input_tokens": cread, "cache_creation_input_tokens": cwrite}
            text = rng.choice(ANSWERS)
            attrs["input.value"] = prompt_text
            attrs["output.value"] = text
            attrs["llm.output_messages.0.message.role"] = "assistant"
            attrs["llm.output_messages.0.message.content"] = self.blocks(text, calls)
        else:
            attrs["input.value"] = prompt_text
        attrs["metadata"] = meta
        if junk or rng.random() < 0.5:
            attrs["session.id"] = session_id
        if junk or rng.random() < 0.5:
            attrs["user.id"] = dev.email
        return self.add(Span(trace, self.hex(16), parent, name, "LLM", start, start + latency, attrs, day=day))

    def child(self, trace: str, parent: str, name: str, kind: str, start: int, end: int, day: int, attrs: dict, ctx: dict) -> Span:
        attrs = {"service.name": "claude-code", **attrs}
        if self.rng.random() < 0.25:
            attrs["session.id"] = ctx["session"]
        return self.add(Span(trace, self.hex(16), parent, name, kind, start, end, attrs, day=day))

    def tool_span(self, trace: str, parent: str, tool: str, tid: str, inp: dict, out: str, failed: bool,
                  start: int, day: int, ctx: dict) -> Span:
        newer = day >= self.old_days
        attrs: dict = {"input.value": json.dumps({"id": tid, "name": tool, "input": inp}), "output.value": out}
        if newer:
            attrs = {"openinference.span.kind": "TOOL", "tool.name": tool, "tool.parameters": json.dumps(inp), **attrs}
        span = self.child(trace, parent, f"Claude_Code_Tool_{tool}", "TOOL" if newer else "UNKNOWN",
                          start, start + self.tool_latency_ns(tool), day, attrs, ctx)
        if failed:
            span.status, span.status_message = "ERROR", "Command failed with exit code 1"
        return span

    def pick_tools(self, n: int) -> list[str]:
        return self.rng.choices(TOOLS, weights=[TOOL_WEIGHTS[t] for t in TOOLS], k=n)

    def tokens(self, ctx: dict, model: str, completion_hi: int) -> tuple[int, int, int, int]:
        rng = self.rng
        grow = rng.randint(300, 4000)
        cread = ctx["context"]
        ctx["context"] = min(190_000, cread + grow)
        if ctx["context"] > 170_000:  # auto-compaction
            ctx["context"] = rng.randint(20_000, 35_000)
        fresh = rng.randint(3, 900)
        cwrite = grow if PROVIDER[model] == "anthropic" else 0
        if PROVIDER[model] != "anthropic" and rng.random() < 0.4:
            fresh, cread = fresh + cread, 0
        completion = int(min(completion_hi, max(12, rng.lognormvariate(5.3, 0.9))))
        return fresh, cread, cwrite, completion

    def request(self, ctx: dict, start: int, n: int, prompt_text: str) -> tuple[int, bool]:
        """One model request (one trace). Returns (end time, whether it ended the turn)."""
        rng = self.rng
        day, dev, repo = ctx["day"], ctx["dev"], ctx["repo"]
        model = ctx["model"]
        if rng.random() < 0.14:
            model = rng.choices([m for m, _, _ in SMALL_MODELS], weights=[w for _, _, w in SMALL_MODELS])[0]
        trace = self.hex(32)
        newer = day >= self.old_days
        latency = self.llm_latency_ns()
        if rng.random() < 0.03:  # provider error, usually retried
            etype, emsg = rng.choice(ERRORS)
            latency = min(latency, int(rng.uniform(0.2, 3.0) * 1e9)) if "Timeout" not in etype else int(600e9)
            root = self.llm_span(trace, None, "litellm_request", start, latency, model, day, ctx, prompt_text, [], None)
            root.status, root.status_message = "ERROR", emsg
            root.events = [{"name": "exception", "time_ns": root.end_ns, "attributes": {
                "exception.type": etype, "exception.message": emsg,
                "exception.stacktrace": f"Traceback (most recent call last):\n  File \"/usr/lib/python3.11/site-packages/litellm/main.py\", line 2148, in completion\n    raise e\n{etype}: {emsg[:120]}"}}]
            self.roots.append(root)
            if rng.random() < 0.6:
                self.child(trace, root.span_id, "raw_gen_ai_request", "LLM", start + 2_000_000, root.end_ns - 1_000_000, day,
                           {"openinference.span.kind": "LLM", "llm.model_name": model, "input.value": self.raw_request(model, prompt_text)}, ctx)
            if rng.random() < 0.85:
                return self.request(ctx, root.end_ns + int(rng.uniform(1, 30) * 1e9), n, prompt_text)
            return root.end_ns, True
        ntools = 0 if n == 0 else rng.choices([0, 1, 2, 3, 4], weights=[22, 45, 19, 10, 4])[0]
        tools = self.pick_tools(ntools)
        calls = []
        results = []
        for tool in tools:
            inp, out, failed = self.tool_call(tool, repo, dev)
            tid = self.toolu()
            calls.append((tid, tool, inp))
            results.append((tid, tool, inp, out, failed))
        root = self.llm_span(trace, None, "litellm_request", start, latency, model, day, ctx, prompt_text, calls,
                             self.tokens(ctx, model, 600 if calls else 4000))
        self.roots.append(root)
        rid = root.span_id
        kind = "LLM" if newer else "UNKNOWN"
        if rng.random() < 0.8:
            self.child(trace, rid, f"Claude_Code_Internal_Prompt_{n}", kind, start, start, day,
                       {"llm.model_name": model, "input.value": prompt_text}, ctx)
        if rng.random() < 0.7:
            self.child(trace, rid, "raw_gen_ai_request", "LLM", start + 2_000_000, root.end_ns - 1_000_000, day,
                       {"openinference.span.kind": "LLM", "llm.model_name": model, "input.value": self.raw_request(model, prompt_text)}, ctx)
        if rng.random() < 0.8:
            self.child(trace, rid, f"Claude_Code_Final_Output_{n}", kind, root.end_ns, root.end_ns, day,
                       {"llm.model_name": model, "output.value": root.attrs["output.value"]}, ctx)
        t = root.end_ns + int(rng.uniform(5, 60) * 1e6)
        for tid, tool, inp, out, failed in results:
            span = self.tool_span(trace, rid, tool, tid, inp, out, failed, t, day, ctx)
            if tool == "Task":
                span.end_ns = self.subagent(trace, span, ctx, model)
            t = span.end_ns + int(rng.uniform(2, 40) * 1e6)
        return t, not results

    def subagent(self, trace: str, task: Span, ctx: dict, model: str) -> int:
        """A Task tool's sub-agent: its own LLM calls and tools, children of the Task span."""
        rng = self.rng
        day = ctx["day"]
        sub_model = model if rng.random() < 0.5 else "claude-haiku-4-5-20251001"
        saved = ctx["context"]
        ctx["context"] = rng.randint(8_000, 15_000)
        t = task.start_ns + int(rng.uniform(10, 80) * 1e6)
        for _ in range(rng.randint(1, 3)):
            tools = self.pick_tools(rng.randint(1, 3))
            tools = [x if x != "Task" else "Read" for x in tools]
            results = []
            for tool in tools:
                inp, out, failed = self.tool_call(tool, ctx["repo"], ctx["dev"])
                results.append((self.toolu(), tool, inp, out, failed))
            llm = self.llm_span(trace, task.span_id, "litellm_request", t, self.llm_latency_ns(), sub_model, day, ctx,
                                task.attrs["input.value"][:300], [(a, b, c) for a, b, c, _, _ in results],
                                self.tokens(ctx, sub_model, 800))
            t = llm.end_ns + int(rng.uniform(5, 50) * 1e6)
            for tid, tool, inp, out, failed in results:
                span = self.tool_span(trace, task.span_id, tool, tid, inp, out, failed, t, day, ctx)
                t = span.end_ns + int(rng.uniform(2, 40) * 1e6)
        ctx["context"] = saved
        return t + int(rng.uniform(5, 50) * 1e6)

    def raw_request(self, model: str, prompt_text: str) -> str:
        return json.dumps({"model": model, "max_tokens": 32000, "stream": True,
                           "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."}],
                           "messages": [{"role": "user", "content": [{"type": "text", "text": prompt_text[:240]}]}]})

    def session(self) -> None:
        rng = self.rng
        self.session_count += 1
        dev = rng.choices(self.devs, weights=[d.activity for d in self.devs])[0]
        day, t = self.session_start_ns()
        repo = rng.choice(dev.repos)
        model = rng.choices([m for m, _, _ in MAIN_MODELS], weights=[w for _, _, w in MAIN_MODELS])[0]
        use_repo = rng.random() < 0.8
        ctx = {"dev": dev, "day": day, "repo": repo, "model": model, "session": uuid4_like(rng),
               "context": rng.randint(11_000, 16_000), "use_repo": use_repo, "use_cwd": (not use_repo) or rng.random() < 0.3}
        n_requests = int(rng.triangular(5, 60, 14))
        prompt = rng.choice(PROMPTS).format(f=rng.choice(FILES[repo]))
        for n in range(n_requests):
            t, turn_done = self.request(ctx, t, n, prompt)
            if turn_done:
                t += int(rng.uniform(20, 600) * 1e9)
                prompt = rng.choice(PROMPTS).format(f=rng.choice(FILES[repo]))
            else:
                t += int(rng.uniform(0.05, 1.5) * 1e9)
                prompt = "Tool results received; continue. " + prompt[:200]

    def generate(self, target: int) -> None:
        while len(self.spans) < target:
            self.session()

    # deliberate oddities on otherwise valid spans --------------------------------------------------
    def decorate(self, slices: list[tuple[str, int, int]]) -> dict:
        """Unknown model, whales, blackouts, reported costs; returns what went where."""
        rng = self.rng
        ok_roots = [r for r in self.roots if r.status == "OK" and r.parent_id is None]

        def in_slice(name: str) -> list[Span]:
            _, lo, hi = next(s for s in slices if s[0] == name)
            return [r for r in ok_roots if lo <= r.day <= hi]

        notes: dict = {}
        # ~10 spans of an unknown (unpriceable) model, spread over the month
        unknown = rng.sample(ok_roots, 10)
        for r in unknown:
            r.attrs["llm.model_name"] = UNKNOWN_MODEL
            r.attrs["llm.provider"] = PROVIDER[UNKNOWN_MODEL]
            r.attrs["metadata"]["model_group"] = UNKNOWN_MODEL
        # 3 whales (200 KB input.value), in the Arize file
        whales = rng.sample([r for r in in_slice("arize") if r not in unknown], 3)
        for r in whales:
            lines = []
            while sum(len(x) + 1 for x in lines) < 200_000:
                lines.append(f"{len(lines) + 1:>6}\u2192{rng.choice(CODE_LINES)}")
            r.attrs["input.value"] = "Here is the full file for context:\n" + "\n".join(lines)
        # 3 content blackouts, one each in the Arize, Parquet and REST files
        blackouts = [rng.choice([r for r in in_slice(n) if r not in whales]) for n in ("arize", "phoenix_parquet", "phoenix_rest")]
        for r in blackouts:
            r.attrs["input.value"] = BLACKOUT
            r.attrs["output.value"] = BLACKOUT
        # 20 spans with a reported cost (the tracer set llm.cost.*), 4 per file
        costed = []
        for name, _, _ in slices:
            for r in rng.sample([r for r in in_slice(name) if r not in unknown], 4):
                model = r.attrs["llm.model_name"]
                pin, pout = PRICE[model]
                prompt, completion = r.attrs["llm.token_count.prompt"], r.attrs["llm.token_count.completion"]
                r.attrs["llm.cost.prompt"] = round(prompt * pin / 1e6, 6)
                r.attrs["llm.cost.completion"] = round(completion * pout / 1e6, 6)
                r.attrs["llm.cost.total"] = round(r.attrs["llm.cost.prompt"] + r.attrs["llm.cost.completion"], 6)
                costed.append(r)
        notes["unknown_model"] = unknown
        notes["whales"] = whales
        notes["blackouts"] = blackouts
        notes["reported_cost"] = costed
        return notes


def plan_slices(world: World, targets: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Contiguous day ranges, one per file (last day index of each; chosen so that with the default
    seed the files hold roughly 15.7k / 4.4k / 1.3k / 1k / 1.7k spans)."""
    last_days = [17, 22, 24, 27, DAYS - 1]
    slices, lo = [], 0
    for (name, _), hi in zip(targets, last_days):
        slices.append((name, lo, hi))
        lo = hi + 1
    return slices


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------

TOKEN_KEYS = {"llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
              "llm.token_count.prompt_details.cache_read", "llm.token_count.prompt_details.cache_write"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso(ns: int, zone: bool = True) -> str:
    t = EPOCH + timedelta(microseconds=ns // 1000)
    return t.isoformat() if zone else t.replace(tzinfo=None).isoformat()


def events_iso(span: Span, zone: bool = True) -> list[dict]:
    return [{"name": e["name"], "timestamp": iso(e["time_ns"], zone), "attributes": e["attributes"]} for e in span.events]


def flat_attrs(span: Span) -> dict:
    """attributes.<key> columns: token counts as floats, metadata as a JSON string."""
    out = {}
    for k, v in span.attrs.items():
        if k == "metadata":
            v = json.dumps(v)
        elif k in TOKEN_KEYS:
            v = float(v)
        out[f"attributes.{k}"] = v
    return out


def arize_record(span: Span) -> dict:
    return {
        "context.span_id": span.span_id, "context.trace_id": span.trace_id, "parent_id": span.parent_id,
        "name": span.name, "span_kind": span.kind,
        "start_time": span.start_ns // 1_000_000, "end_time": span.end_ns // 1_000_000,
        "status_code": span.status, "status_message": span.status_message,
        "events": events_iso(span), **flat_attrs(span),
    }


def flatten(prefix: str, value: dict, out: dict) -> None:
    for k, v in value.items():
        if isinstance(v, dict):
            flatten(f"{prefix}.{k}", v, out)
        else:
            out[f"{prefix}.{k}"] = v


def rest_record(span: Span) -> dict:
    """Phoenix REST: nested attributes with flat dotted keys; JSON strings flattened."""
    attrs: dict = {}
    for k, v in span.attrs.items():
        if k == "metadata":
            flatten("metadata", v, attrs)
        elif k == "tool.parameters":
            flatten("tool.parameters", json.loads(v), attrs)
        else:
            attrs[k] = v
    return {
        "context": {"trace_id": span.trace_id, "span_id": span.span_id}, "parent_id": span.parent_id,
        "name": span.name, "span_kind": span.kind, "start_time": iso(span.start_ns), "end_time": iso(span.end_ns),
        "status_code": span.status, "status_message": span.status_message, "attributes": attrs,
        "events": events_iso(span),
    }


def any_value(v) -> dict:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (dict, list)):
        return {"stringValue": json.dumps(v)}
    return {"stringValue": str(v)}


def otlp_span(span: Span) -> dict:
    out = {
        "traceId": span.trace_id, "spanId": span.span_id, "name": span.name, "kind": 1,
        "startTimeUnixNano": str(span.start_ns), "endTimeUnixNano": str(span.end_ns),
        "attributes": [{"key": k, "value": any_value(v)} for k, v in span.attrs.items()],
        "events": [{"timeUnixNano": str(e["time_ns"]), "name": e["name"],
                    "attributes": [{"key": k, "value": any_value(v)} for k, v in e["attributes"].items()]} for e in span.events],
        "status": {"code": 2, "message": span.status_message} if span.status == "ERROR" else {"code": 1},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    return out


def otlp_document(spans: list[Span]) -> dict:
    groups: dict[str, list[dict]] = {}
    for s in spans:
        groups.setdefault(s.attrs.get("service.name", "claude-code"), []).append(otlp_span(s))
    return {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}},
                                     {"key": "openinference.project.name", "value": {"stringValue": "claude-code"}}]},
         "scopeSpans": [{"scope": {"name": "openinference.instrumentation.litellm", "version": "0.1.19"}, "spans": group}]}
        for svc, group in groups.items()]}


def csv_record(span: Span) -> dict:
    rec = {
        "context.span_id": span.span_id, "context.trace_id": span.trace_id, "parent_id": span.parent_id or "",
        "name": span.name, "span_kind": span.kind,
        "start_time": iso(span.start_ns, zone=False), "end_time": iso(span.end_ns, zone=False),
        "status_code": span.status, "status_message": span.status_message,
        "events": json.dumps(events_iso(span, zone=False)) if span.events else "[]",
    }
    rec.update({k: (repr(v) if isinstance(v, float) else v) for k, v in flat_attrs(span).items()})
    return rec


def parquet_table(spans: list[Span]) -> pa.Table:
    """Phoenix's span dataframe: flat dotted columns, tz-aware ns times, float token columns."""
    rows = [flat_attrs(s) for s in spans]
    keys = sorted({k for r in rows for k in r})
    cols: dict = {
        "context.span_id": pa.array([s.span_id for s in spans], pa.string()),
        "context.trace_id": pa.array([s.trace_id for s in spans], pa.string()),
        "parent_id": pa.array([s.parent_id for s in spans], pa.string()),
        "name": pa.array([s.name for s in spans], pa.string()),
        "span_kind": pa.array([s.kind for s in spans], pa.string()),
        "start_time": pa.array([s.start_ns for s in spans], pa.timestamp("ns", tz="UTC")),
        "end_time": pa.array([s.end_ns for s in spans], pa.timestamp("ns", tz="UTC")),
        "status_code": pa.array([s.status for s in spans], pa.string()),
        "status_message": pa.array([s.status_message for s in spans], pa.string()),
        "events": pa.array([events_iso(s) for s in spans], pa.list_(pa.struct([
            ("name", pa.string()), ("timestamp", pa.string()),
            ("attributes", pa.struct([("exception.type", pa.string()), ("exception.message", pa.string()),
                                      ("exception.stacktrace", pa.string())]))]))),
    }
    for k in keys:
        values = [r.get(k) for r in rows]
        if any(isinstance(v, float) for v in values):
            cols[k] = pa.array([math.nan if v is None else float(v) for v in values], pa.float64())
        else:
            cols[k] = pa.array(values, pa.string())
    return pa.table(cols)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

TARGETS = [("arize", 15000), ("phoenix_parquet", 4000), ("phoenix_rest", 2500), ("otlp", 1500), ("csv", 1500)]


def write_identity(world: World, path: Path) -> None:
    lines = ["# Lens identity map: aliases -> developer -> team (alias matching is case-insensitive).",
             "# Generated by scripts/make_samples.py. One developer is deliberately left out (an unmapped developer),",
             "# and one alias is written in upper case.", "developers:"]
    for d in world.devs:
        if d.key == UNMAPPED:
            continue
        email = d.email.upper() if d.key == UPPERCASE_ALIAS else d.email
        lines += [f"  {d.key}:", f"    name: {d.name}", f"    team: {d.team}",
                  f"    aliases: [{email}, {d.account_uuid}, {d.device_id}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    yaml.safe_load(path.read_text(encoding="utf-8"))  # must parse


def fresh_copy(world: World, span: Span) -> Span:
    return Span(**{**span.__dict__, "span_id": world.hex(16), "attrs": dict(span.attrs), "events": list(span.events)})


def write_arize(world: World, spans: list[Span], path: Path) -> dict:
    rng = world.rng
    lines = [json.dumps(arize_record(s)) for s in spans]
    dupes = rng.sample(range(len(lines)), 30)
    llm = [s for s in spans if "llm.token_count.prompt" in s.attrs and len(s.attrs.get("input.value", "")) < 5000]
    bad = []
    truncated = json.dumps(arize_record(fresh_copy(world, rng.choice(llm))))
    bad.append(("truncated JSON", truncated[: len(truncated) // 2]))
    bad.append(("garbage text", "<html><head><title>502 Bad Gateway</title></head><body>upstream timed out</body></html>"))
    rec = arize_record(fresh_copy(world, rng.choice(spans)))
    del rec["context.span_id"]
    bad.append(("no span id", json.dumps(rec)))
    rec = arize_record(fresh_copy(world, rng.choice(spans)))
    rec["start_time"] = "yesterday"
    bad.append(("start_time 'yesterday'", json.dumps(rec)))
    rec = arize_record(fresh_copy(world, rng.choice(llm)))
    rec["attributes.llm.token_count.prompt"] = "lots"
    bad.append(("token count 'lots'", json.dumps(rec)))
    out = list(lines)
    for i in sorted(dupes, reverse=True):  # a verbatim repeat some lines later
        out.insert(min(len(out), i + rng.randint(1, 400)), lines[i])
    for _, text in bad:
        out.insert(rng.randrange(len(out)), text)
    data = ("\n".join(out) + "\n").encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return {"layout": "arize flat JSONL (gzip)", "records": len(out), "valid_spans": len(spans), "malformed": len(bad),
            "duplicates": 30, "defects": [b for b, _ in bad] + ["30 spans repeated verbatim"]}


def write_parquet(world: World, spans: list[Span], path: Path) -> dict:
    pq.write_table(parquet_table(spans), path, compression="zstd")
    return {"layout": "phoenix dataframe Parquet", "records": len(spans), "valid_spans": len(spans), "malformed": 0, "duplicates": 0, "defects": []}


def write_rest(world: World, spans: list[Span], path: Path) -> dict:
    doc = {"data": [rest_record(s) for s in spans], "next_cursor": None}
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return {"layout": "phoenix REST JSON page", "records": len(spans), "valid_spans": len(spans), "malformed": 0, "duplicates": 0, "defects": []}


def write_otlp(world: World, spans: list[Span], path: Path) -> dict:
    path.write_text(json.dumps(otlp_document(spans), separators=(",", ":")), encoding="utf-8")
    return {"layout": "OTLP/JSON resourceSpans", "records": len(spans), "valid_spans": len(spans), "malformed": 0, "duplicates": 0, "defects": []}


def write_csv(world: World, spans: list[Span], path: Path) -> dict:
    rng = world.rng
    rows = [csv_record(s) for s in spans]
    bad_time = csv_record(fresh_copy(world, rng.choice(spans)))
    bad_time["start_time"] = "31/11/2026 25:61"
    no_id = csv_record(fresh_copy(world, rng.choice(spans)))
    no_id["context.span_id"] = ""
    rows.insert(rng.randrange(len(rows)), bad_time)
    rows.insert(rng.randrange(len(rows)), no_id)
    fixed = ["context.span_id", "context.trace_id", "parent_id", "name", "span_kind", "start_time", "end_time",
             "status_code", "status_message", "events"]
    header = fixed + sorted({k for r in rows for k in r} - set(fixed))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return {"layout": "flat CSV", "records": len(rows), "valid_spans": len(spans), "malformed": 2, "duplicates": 0,
            "defects": ["unparseable start_time", "missing span id"]}


WRITERS = {
    "arize": ("arize_export_{a}_{b}.jsonl.gz", write_arize),
    "phoenix_parquet": ("phoenix_spans_{a}_{b}.parquet", write_parquet),
    "phoenix_rest": ("phoenix_rest_{a}_{b}.json", write_rest),
    "otlp": ("otlp_{a}_{b}.json", write_otlp),
    "csv": ("spans_{a}_{b}.csv", write_csv),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "samples")
    parser.add_argument("--spans", type=int, default=24000, help="about how many valid spans to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 24))
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    world = World(rng, args.end_date)
    world.generate(args.spans)
    slices = plan_slices(world, TARGETS)
    notes = world.decorate(slices)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for pattern in ("arize_export_*.jsonl.gz", "phoenix_spans_*.parquet", "phoenix_rest_*.json", "otlp_*.json", "spans_*.csv"):
        for old in out.glob(pattern):
            old.unlink()
    files = {}
    where: dict[str, str] = {}
    for name, lo, hi in slices:
        spans = sorted((s for s in world.spans if lo <= s.day <= hi), key=lambda s: (s.start_ns, s.span_id))
        a, b = (world.first_day + timedelta(days=d) for d in (lo, hi))
        pattern, writer = WRITERS[name]
        filename = pattern.format(a=a.isoformat(), b=b.isoformat())
        info = writer(world, spans, out / filename)
        info.update({"first_day": a.isoformat(), "last_day": b.isoformat(), "bytes": (out / filename).stat().st_size,
                     "shape": "older + newer" if lo < world.old_days <= hi else ("older" if hi < world.old_days else "newer")})
        files[filename] = info
        for s in spans:
            where[s.span_id] = filename
        print(f"{filename}: {info['records']} records, {info['valid_spans']} valid spans, "
              f"{info['malformed']} malformed, {info['duplicates']} duplicates, {info['bytes'] / 1e6:.2f} MB")
    write_identity(world, out / "identity.yaml")

    tools = sorted({s.name.removeprefix("Claude_Code_Tool_") for s in world.spans if s.name.startswith("Claude_Code_Tool_")})
    models = sorted({s.attrs["llm.model_name"] for s in world.spans if "llm.token_count.prompt" in s.attrs})
    edits = [s for s in world.spans if s.name.removeprefix("Claude_Code_Tool_") in EDIT_TOOLS]
    manifest = {
        "generator": "scripts/make_samples.py",
        "seed": args.seed, "first_day": world.first_day.isoformat(), "last_day": args.end_date.isoformat(),
        "files": files,
        "totals": {
            "developers": len(world.devs), "mapped_developers": len(world.devs) - 1, "unmapped_developer": UNMAPPED,
            "teams": len(TEAMS), "models": len(models), "model_names": models, "tools": len(tools), "tool_names": tools,
            "repos": sum(len(r) for r in REPOS.values()), "days": DAYS,
            "sessions": world.session_count,
            "valid_unique_spans": len(world.spans),
            "records": sum(f["records"] for f in files.values()),
            "malformed": sum(f["malformed"] for f in files.values()),
            "duplicates": sum(f["duplicates"] for f in files.values()),
            "llm_requests": len(world.roots),
            "error_requests": sum(1 for r in world.roots if r.status == "ERROR"),
            "bash_errors": sum(1 for s in world.spans if s.name == "Claude_Code_Tool_Bash" and s.status == "ERROR"),
            "edit_tool_calls": len(edits),
            "edit_tool_rejections": sum(1 for s in edits if s.attrs.get("output.value") == REJECTED),
            "unknown_model_spans": len(notes["unknown_model"]),
            "reported_cost_spans": len(notes["reported_cost"]),
            "whale_spans": {s.span_id: where[s.span_id] for s in notes["whales"]},
            "blackout_spans": {s.span_id: where[s.span_id] for s in notes["blackouts"]},
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    write_readme(out / "README.md", manifest)
    total = sum(f["bytes"] for f in files.values())
    print(f"{len(world.spans)} valid unique spans in {len(files)} files, {total / 1e6:.2f} MB; identity.yaml, manifest.json, README.md")
    return 0


def write_readme(path: Path, m: dict) -> None:
    t = m["totals"]
    lines = [
        "# Sample span exports", "",
        f"Generated by `scripts/make_samples.py` (seed {m['seed']}; re-run `.venv/bin/python scripts/make_samples.py` to rebuild,",
        "byte-identical). Synthetic but shaped like real exports (see `/work/shared/FORMATS.md`): Claude Code traced through a",
        "LiteLLM proxy, one trace per model request. Every file covers a different slice of the "
        f"{t['days']} days {m['first_day']} .. {m['last_day']} (UTC).", "",
        "## World", "",
        f"- {t['developers']} developers in {t['teams']} teams (platform, payments, mobile), 4 per team; "
        f"{t['repos']} repos (metadata `repo`, or only `cwd` like `/home/alice/src/payments-api`).",
        f"- `identity.yaml` maps {t['mapped_developers']} of them (email, account_uuid, device_id aliases). "
        f"`{t['unmapped_developer']}` (mobile) is left out on purpose: her spans show up under her raw email (which the spans that carry only her account uuid take from their trace or session) "
        "with no team. Bruno's email alias is written in upper case (matching is case-insensitive).",
        f"- {t['sessions']} sessions, {t['llm_requests']} root `litellm_request` spans ({t['error_requests']} ERROR: rate limit / "
        "overloaded / timeout, with an `exception` event; most are followed by a retry trace).",
        f"- Models ({t['models']}, token-bearing LLM spans): {', '.join(t['model_names'])}. "
        f"`acme-internal-coder-v2` is unknown to price tables: {t['unknown_model_spans']} spans.",
        f"- Tools ({t['tools']}): {', '.join(t['tool_names'])}.",
        f"- Edit/Write/MultiEdit calls: {t['edit_tool_calls']}, of which {t['edit_tool_rejections']} rejected by the user. "
        f"Bash tool spans with ERROR: {t['bash_errors']}.",
        f"- {t['reported_cost_spans']} spans carry a reported `llm.cost.total` (4 per file). 3 whale spans (200 KB `input.value`, "
        "all in the Arize file) and 3 content blackouts (`redacted-by-litellm`: one each in the Arize, Parquet and REST files); "
        "span ids in `manifest.json`.",
        "- Only `litellm_request` spans (roots and Task sub-agent calls) carry token counts; `llm.token_count.prompt` includes cache "
        "reads and writes. Older days (before day 13) put cache tokens only in LiteLLM `metadata.usage_object`, mark synthesized "
        "spans `UNKNOWN` without `tool.name`, and ~20% use the legacy `user_<hash>_account_<uuid>_session_<uuid>` end-user string; "
        "newer days use `llm.token_count.prompt_details.cache_*`, `TOOL` spans with `tool.name` / `tool.parameters`. "
        "~3% of LLM spans have a junk end-user id (`unknown`, `null`, empty, `None`); those always carry `session.id` and `user.id`.",
        "", "## Files", "",
        "| file | layout | date range | shape | records | valid spans | malformed | duplicates | size |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in m["files"].items():
        lines.append(f"| `{name}` | {f['layout']} | {f['first_day']} .. {f['last_day']} | {f['shape']} | {f['records']} | "
                     f"{f['valid_spans']} | {f['malformed']} | {f['duplicates']} | {f['bytes'] / 1e6:.2f} MB |")
    lines += ["", "Deliberate defects (exact):", ""]
    for name, f in m["files"].items():
        if f["defects"]:
            lines.append(f"- `{name}`: " + "; ".join(f["defects"]) + ".")
    lines += [
        "", f"Total: {t['records']} records = {t['valid_unique_spans']} valid unique spans + {t['malformed']} malformed records "
        f"(dead letters) + {t['duplicates']} verbatim duplicates. Ingesting all five files should write exactly "
        f"{t['valid_unique_spans']} spans and {t['malformed']} dead letters.", "",
        "Layout notes: Arize times are epoch milliseconds and token counts floats (`1500.0`); Parquet times are "
        "`timestamp[ns, tz=UTC]` and token columns float64 with NaN; REST times are ISO with `+00:00` and `metadata` / "
        "`tool.parameters` are flattened to dotted keys; OTLP ids are hex and int64 values are strings; CSV times are ISO "
        "without a zone (UTC). `attributes.metadata` is a JSON string in every flat layout.", "",
        "```sh", "cd /tmp && rm -rf lenscheck && PYTHONPATH=/work/main LENS_IDENTITY_FILE=/work/main/data/samples/identity.yaml \\",
        "  /work/main/.venv/bin/python -m lens_etl --data-dir /tmp/lenscheck ingest files /work/main/data/samples/{arize_export_*,phoenix_*,otlp_*,spans_*}",
        "```", "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
