/*
 * canopy/dht22-capture: the host-object class over dht22-capture.c (ESP32, ESP-IDF v6 RMT RX).
 * Plain JavaScript because Native()/native() are XS syntax that tsc cannot read; the TypeScript
 * view of this class is dht22-capture.d.ts beside it.
 *
 *   const capture = new Dht22Capture({pin: 4});
 *   capture.read();   // Uint8Array of the frame's level widths in µs (see dht22-capture.d.ts)
 *   capture.close();
 */

// Outside the class so read() can wrap the ArrayBuffer the host function returns (a method whose
// body is not exactly `return native(...).call(...)` makes xsc warn "cannot optimize native").
const readWidths = native("xs_dht22capture_read");

class Dht22Capture extends Native("xs_dht22capture_destructor") {
	constructor(options) {
		super();
		native("xs_dht22capture_constructor").call(this, options);
	}
	read() {
		return new Uint8Array(readWidths.call(this));
	}
	close() {
		native("xs_dht22capture_close").call(this);
	}
}

export default Dht22Capture;
