// The WebSocket protocol of docs/protocol.md: requests answered by id, streams (book,
// trades, account) dispatched by frame type. A message is one frame or an array of them.
import { parseJson, toJson } from "./json";

export type Frame = { type: string; id?: number } & Record<string, unknown>;

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly reason: string | null,
  ) {
    super(reason ? `${code} (${reason}): ${message}` : `${code}: ${message}`);
  }
}

interface Pending {
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

const RECONNECT_MS = 1000;

export class Gateway {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** ``onOpen`` runs on every (re)connection: log in and subscribe again there. */
  constructor(
    private readonly url: string,
    private readonly onFrame: (frame: Frame) => void,
    private readonly onOpen: () => Promise<void>,
    private readonly onStatus: (status: "connecting" | "open" | "closed") => void,
  ) {}

  start(): void {
    this.onStatus("connecting");
    const socket = (this.socket = new WebSocket(this.url));
    socket.onopen = () => {
      this.onStatus("open");
      this.onOpen().catch((error) => console.error("gateway: after connecting", error));
    };
    socket.onmessage = (event) => this.read(String(event.data));
    socket.onclose = () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error("the gateway connection closed"));
      this.pending.clear();
      this.onStatus("closed");
      setTimeout(() => this.start(), RECONNECT_MS);
    };
  }

  /** A new connection (its ``onOpen`` runs again): for another trader, say. */
  reconnect(): void {
    this.socket?.close();
  }

  /** Send one request; its answer, or GatewayError with the error frame's code. */
  request(body: Record<string, unknown>): Promise<Frame> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected to the gateway"));
    }
    const id = this.nextId++;
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      socket.send(toJson({ ...body, id }));
    });
  }

  private read(text: string): void {
    const message = parseJson(text) as Frame | Frame[];
    for (const frame of Array.isArray(message) ? message : [message]) {
      const waiting = frame.id === undefined ? undefined : this.pending.get(frame.id);
      if (waiting) {
        this.pending.delete(frame.id!);
        if (frame.type === "error") {
          waiting.reject(new GatewayError(String(frame.code), String(frame.message), (frame.reason as string | null) ?? null));
        } else {
          waiting.resolve(frame);
        }
      }
      this.onFrame(frame);
    }
  }
}
