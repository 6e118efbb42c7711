public import Hummingbird

/// The browser page (`GET /`) and its moq-lite module (`GET /moq-page.js`): plain HTML and a JS module
/// that speak moq-lite lite-06 over WebTransport to this relay, pinning its certificate.
extension RelayHTTPServer {
    public static func addBrowserPage<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: BrowserPage.html)))
        }
        router.get("moq-page.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: BrowserPage.module)))
        }
    }
}

enum BrowserPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>moq-relay</title>
        <style>
          body { font: 14px system-ui, sans-serif; margin: 2em; max-width: 60em; }
          li { cursor: pointer; } li:hover { text-decoration: underline; }
          #stats span { display: inline-block; min-width: 9em; }
          code { background: #eee; padding: 0 .3em; }
        </style>
        </head>
        <body>
        <h1>moq-relay</h1>
        <p id="status">connecting…</p>
        <h2>Announced broadcasts</h2>
        <ul id="broadcasts"><li><em>none yet</em></li></ul>
        <p>Track <input id="track" value="video" size="12"> — click a broadcast to subscribe.</p>
        <div id="stats">
          <span id="subscribed">not subscribed</span>
          <span>frames <b id="frames">0</b></span> <span>groups <b id="groups">0</b></span>
          <span>rate <b id="rate">0</b> fps, <b id="kbps">0</b> kbit/s</span> <span>latency <b id="latency">–</b></span>
        </div>
        <pre id="last"></pre>
        <h2>Publish</h2>
        <p><button id="publish">Publish a test track</button> <span id="published"></span></p>
        <script type="module">
        import { MoqSession } from "/moq-page.js";

        const $ = (id) => document.getElementById(id);
        const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
        // What the page did, for people and for the headless test that drives it.
        const state = window.moqState = { ready: false, error: null, broadcasts: [], frames: 0, groups: 0, bytes: 0, recent: [] };

        async function start() {
          // The certificate pin, and the UDP port from Alt-Svc (same origin: the header is readable).
          const response = await fetch("/certificate.sha256");
          const pin = (await response.text()).trim();
          const port = /h3=":(\d+)"/.exec(response.headers.get("alt-svc") || "")?.[1];
          if (!port) throw new Error("no Alt-Svc h3 port");
          // Chrome tries only ::1 for "localhost" over QUIC; the relay listens on 127.0.0.1 by default.
          const host = location.hostname === "localhost" ? "127.0.0.1" : location.hostname;
          const session = await MoqSession.connect(`https://${host}:${port}/`, pin);
          state.ready = true;
          $("status").textContent = `connected to https://${host}:${port}/ (moq-lite-06 over WebTransport)`;
          session.watchAnnouncements("", (paths) => {
            state.broadcasts = paths;
            const list = $("broadcasts");
            list.replaceChildren(...paths.map((path) => {
              const item = document.createElement("li");
              item.textContent = path;
              item.onclick = () => subscribe(session, path, $("track").value);
              return item;
            }));
          }).catch((error) => console.debug("announcements", error));
          $("publish").onclick = () => publish(session, `browser/${Math.random().toString(36).slice(2, 8)}`, "test");
          const params = new URLSearchParams(location.search);
          if (params.get("publish")) publish(session, params.get("publish"), params.get("track") || "test");
          if (params.get("subscribe")) subscribe(session, params.get("subscribe"), params.get("track") || "video");
        }

        let current = null;
        async function subscribe(session, broadcast, track) {
          current?.close();
          Object.assign(state, { frames: 0, groups: 0, bytes: 0, recent: [] });
          const seen = new Set();
          const window1s = [];
          $("subscribed").textContent = `${broadcast} / ${track}`;
          current = await session.subscribe(broadcast, track, ({ group, index, timestamp, payload }) => {
            state.frames += 1; state.bytes += payload.length;
            if (!seen.has(group)) { seen.add(group); state.groups += 1; }
            state.recent.push({ group, index, hex: hex(payload) });
            if (state.recent.length > 50) state.recent.shift();
            const now = performance.now();
            window1s.push([now, payload.length]);
            while (window1s[0][0] < now - 1000) window1s.shift();
            $("frames").textContent = state.frames; $("groups").textContent = state.groups;
            $("rate").textContent = window1s.length;
            $("kbps").textContent = (window1s.reduce((sum, [, size]) => sum + size, 0) * 8 / 1000).toFixed(1);
            // Timestamps in microseconds since the epoch give a latency; other clocks do not.
            const latency = (performance.timeOrigin + now) - timestamp / 1000;
            $("latency").textContent = Math.abs(latency) < 60000 ? `${latency.toFixed(1)} ms` : "–";
            $("last").textContent = `group ${group} frame ${index}: ${payload.length} bytes`;
          });
        }

        function publish(session, path, track) {
          session.publish(path, track);
          state.published = `${path}/${track}`;
          $("published").textContent = `publishing ${path} (track ${track})`;
        }

        start().catch((error) => { state.error = String(error); $("status").textContent = `error: ${error}`; });
        </script>
        </body>
        </html>
        """#

    static let module = #"""
        // moq-lite (lite-06) over WebTransport for the relay's browser page: lists announced broadcasts live,
        // subscribes to a track (frames, rate, latency), publishes a test track. No build step, no dependencies.

        const enc = new TextEncoder();
        const dec = new TextDecoder();

        /** QUIC varint encoding (values below 2^53). */
        function varint(value) {
          if (value < 0x40) return [value];
          if (value < 0x4000) return [0x40 | (value >> 8), value & 0xff];
          if (value < 0x40000000) return [0x80 | (value >>> 24), (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
          const hi = Math.floor(value / 0x100000000), lo = value >>> 0;
          return [0xc0 | ((hi >>> 24) & 0x3f), (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff,
                  lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff];
        }
        const str = (text) => { const bytes = enc.encode(text); return [...varint(bytes.length), ...bytes]; };
        /** A length-prefixed message body. */
        const message = (body) => new Uint8Array([...varint(body.length), ...body]);
        const zigzag = (value) => (value >= 0 ? value * 2 : -value * 2 - 1);

        /** Reads varints, strings and bytes off a WebTransport ReadableStream. */
        class Reader {
          constructor(readable) { this.reader = readable.getReader(); this.buffer = new Uint8Array(0); this.offset = 0; }
          async fill(count) {
            while (this.buffer.length - this.offset < count) {
              const { value, done } = await this.reader.read();
              if (done) return false;
              const rest = this.buffer.subarray(this.offset);
              const next = new Uint8Array(rest.length + value.length);
              next.set(rest); next.set(value, rest.length);
              this.buffer = next; this.offset = 0;
            }
            return true;
          }
          async done() { return !(await this.fill(1)); }
          async varint() {
            if (!(await this.fill(1))) throw new Error("stream ended");
            const length = 1 << (this.buffer[this.offset] >> 6);
            if (!(await this.fill(length))) throw new Error("stream ended");
            let value = this.buffer[this.offset] & 0x3f;
            for (let i = 1; i < length; i++) value = value * 256 + this.buffer[this.offset + i];
            this.offset += length;
            return value;
          }
          async bytes(count) {
            if (!(await this.fill(count))) throw new Error("stream ended");
            const out = this.buffer.slice(this.offset, this.offset + count);
            this.offset += count;
            return out;
          }
          async string() { return dec.decode(await this.bytes(await this.varint())); }
          /** A length-prefixed message as its own Reader. */
          async message() { return Reader.of(await this.bytes(await this.varint())); }
          static of(bytes) { const r = new Reader(new ReadableStream()); r.buffer = bytes; return r; }
        }

        /** One moq-lite lite-06 session over WebTransport. */
        export class MoqSession {
          constructor(transport) {
            this.transport = transport;
            this.hop = Math.floor(Math.random() * 2 ** 48) + 1;
            this.announced = new Map();       // path -> announce id
            this.onAnnounced = () => {};
            this.subscriptions = new Map();   // id -> handlers
            this.nextSubscribe = 0;
            this.published = null;            // { path, track, groups: [], subscribers: Set }
          }

          static async connect(url, certificateHex) {
            const value = new Uint8Array(certificateHex.match(/../g).map((h) => parseInt(h, 16)));
            const transport = new WebTransport(url, {
              serverCertificateHashes: [{ algorithm: "sha-256", value }], protocols: ["moq-lite-06"],
            });
            await transport.ready;
            if (transport.protocol && transport.protocol !== "moq-lite-06") throw new Error(`protocol ${transport.protocol}`);
            const session = new MoqSession(transport);
            // SETUP on its own uni stream: type 1, one parameter (Origin = our hop id).
            const setup = await transport.createUnidirectionalStream();
            const writer = setup.getWriter();
            const hop = varint(session.hop);
            await writer.write(new Uint8Array([1, ...message([1, 5, ...varint(hop.length), ...hop])]));
            writer.close().catch(() => {});
            session.acceptBidi();
            session.acceptUni();
            return session;
          }

          async acceptBidi() {
            const reader = this.transport.incomingBidirectionalStreams.getReader();
            for (;;) {
              const { value: stream, done } = await reader.read();
              if (done) return;
              this.serveBidi(stream).catch((error) => console.debug("bidi", error));
            }
          }

          async acceptUni() {
            const reader = this.transport.incomingUnidirectionalStreams.getReader();
            for (;;) {
              const { value: stream, done } = await reader.read();
              if (done) return;
              this.serveUni(stream).catch((error) => console.debug("uni", error));
            }
          }

          /** The relay's requests to us: ANNOUNCE_REQUEST (1), SUBSCRIBE (2), TRACK (6). */
          async serveBidi(stream) {
            const input = new Reader(stream.readable);
            const writer = stream.writable.getWriter();
            const type = await input.varint();
            if (type === 1) {
              await input.message();
              const count = this.published ? 1 : 0;
              let bytes = [...message([...varint(this.hop), ...varint(count)])];
              if (this.published) bytes = [...bytes, 0, ...message([...str(this.published.path), 0, 0, 0])];
              await writer.write(new Uint8Array(bytes));   // ANNOUNCE_OK (+ START), stream stays open
            } else if (type === 6) {
              const request = await input.message();
              const broadcast = await request.string(), track = await request.string();
              if (!this.published || broadcast !== this.published.path || track !== this.published.track) {
                await writer.abort(0x33); return;
              }
              await writer.write(message([127, ...varint(5000), ...varint(1000000)]));  // TRACK_INFO
              await writer.close();
            } else if (type === 2) {
              const request = await input.message();
              const id = await request.varint(), broadcast = await request.string(), track = await request.string();
              if (!this.published || broadcast !== this.published.path || track !== this.published.track) {
                await writer.abort(0x33); return;
              }
              const subscriber = { id, control: writer, started: false };
              this.published.subscribers.add(subscriber);
              input.done().then(() => this.published?.subscribers.delete(subscriber), () => this.published?.subscribers.delete(subscriber));
            } else {
              await writer.abort(1);
            }
          }

          /** Our incoming uni streams: the relay's SETUP (1), GROUP streams (0). */
          async serveUni(stream) {
            const input = new Reader(stream);
            const type = await input.varint();
            if (type !== 0) { while (!(await input.done())) await input.bytes(input.buffer.length - input.offset); return; }
            const header = await input.message();
            const id = await header.varint(), sequence = await header.varint(), frameStart = await header.varint();
            const handlers = this.subscriptions.get(id);
            if (!handlers) return;
            let timestamp = 0, index = frameStart;
            while (!(await input.done())) {
              const delta = await input.varint();
              timestamp += delta % 2 === 0 ? delta / 2 : -(delta + 1) / 2;
              const payload = await input.bytes(await input.varint());
              handlers.frame({ group: sequence, index, timestamp, payload });
              index += 1;
            }
          }

          /** Announcements under `prefix`, live: calls `onChange(paths)` on every change. */
          async watchAnnouncements(prefix, onChange) {
            const stream = await this.transport.createBidirectionalStream();
            const writer = stream.writable.getWriter();
            await writer.write(new Uint8Array([1, ...message(str(prefix))]));
            const input = new Reader(stream.readable);
            await input.message();  // ANNOUNCE_OK: hop id, initial count
            const byID = new Map();
            let nextID = 0;
            while (!(await input.done())) {
              const type = await input.varint();
              const body = await input.message();
              if (type === 0) {
                const suffix = await body.string();
                byID.set(nextID++, prefix ? `${prefix}/${suffix}` : suffix);
              } else if (type === 1) {
                byID.delete(await body.varint());
              }
              onChange([...new Set(byID.values())].sort());
            }
          }

          /** Subscribes to the live edge of `broadcast`/`track`; `onFrame` gets {group, index, timestamp, payload}. */
          async subscribe(broadcast, track, onFrame) {
            const id = this.nextSubscribe++;
            this.subscriptions.set(id, { frame: onFrame });
            const stream = await this.transport.createBidirectionalStream();
            const writer = stream.writable.getWriter();
            await writer.write(new Uint8Array([2, ...message([...varint(id), ...str(broadcast), ...str(track), 0, 0, 0, 0, 0, 0])]));
            const input = new Reader(stream.readable);
            return { id, close: () => { this.subscriptions.delete(id); writer.close().catch(() => {}); }, responses: input };
          }

          /** Publishes `path` with one track whose frames are the text "browser <group>/<index>", a group a second. */
          publish(path, track) {
            this.published = { path, track, subscribers: new Set() };
            let group = 0;
            const timer = setInterval(async () => {
              const sequence = group++;
              for (const subscriber of [...this.published.subscribers]) {
                try {
                  if (!subscriber.started) {
                    subscriber.started = true;
                    await subscriber.control.write(new Uint8Array([0, ...message(varint(sequence))]));  // SUBSCRIBE_START
                  }
                  const stream = await this.transport.createUnidirectionalStream();
                  const writer = stream.getWriter();
                  let bytes = [0, ...message([...varint(subscriber.id), ...varint(sequence), 0])];
                  let last = 0;
                  for (let index = 0; index < 5; index++) {
                    const now = Math.round(performance.timeOrigin * 1000 + performance.now() * 1000);
                    const payload = enc.encode(`browser ${sequence}/${index}`);
                    bytes = [...bytes, ...varint(zigzag(index === 0 ? now : now - last)), ...varint(payload.length), ...payload];
                    last = now;
                  }
                  await writer.write(new Uint8Array(bytes));
                  await writer.close();
                } catch (error) {
                  this.published.subscribers.delete(subscriber);
                }
              }
            }, 200);
            return () => clearInterval(timer);
          }
        }
        """#
}
