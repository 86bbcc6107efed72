#!/usr/bin/env python3
"""A small AG-UI agent, Python standard library only: what a FastAPI/LangGraph agent serves,
without the framework. POST a RunAgentInput (JSON) to /agent; the answer is an SSE stream of
AG-UI events: the reply streamed word by word, one tool call with streamed arguments and its
result, then RUN_FINISHED.

    PORT=8000 python3 agent.py      # prints: listening on http://127.0.0.1:8000/agent

Put lockstep in front of it: createLockstepServer({ handler: agUiHandler({ url }) }).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def events(run_input):
    """The AG-UI events of one run, as dicts (AG-UI 1.0 field names)."""
    thread_id, run_id = run_input["threadId"], run_input["runId"]
    user = [m for m in run_input.get("messages", []) if m.get("role") == "user"]
    text = user[-1]["content"] if user else ""
    yield {"type": "RUN_STARTED", "threadId": thread_id, "runId": run_id}
    yield {"type": "TEXT_MESSAGE_START", "messageId": f"{run_id}.reply", "role": "assistant"}
    for i, word in enumerate(f"You said: {text}".split(" ")):
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"{run_id}.reply", "delta": word if i == 0 else " " + word}
    yield {"type": "TEXT_MESSAGE_END", "messageId": f"{run_id}.reply"}
    call = f"{run_id}.count"
    yield {"type": "TOOL_CALL_START", "toolCallId": call, "toolCallName": "count_words"}
    arguments = json.dumps({"text": text})
    for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
        yield {"type": "TOOL_CALL_ARGS", "toolCallId": call, "delta": piece}
    yield {"type": "TOOL_CALL_END", "toolCallId": call}
    yield {"type": "TOOL_CALL_RESULT", "messageId": f"{run_id}.count.result", "toolCallId": call, "content": str(len(text.split()))}
    yield {"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id}


class Agent(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if self.path != "/agent":
            self.send_error(404)
            return
        run_input = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        # No content-length: the stream ends when the connection closes after RUN_FINISHED.
        self.send_header("connection", "close")
        self.end_headers()
        for event in events(run_input):
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode("utf-8"))
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Agent)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/agent", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
