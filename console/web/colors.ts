// Each telemetry field's line colour on the device page (the tests look for it on the canvas).
export const COLORS: Record<string, string> = { temperature: '#d9480f', humidity: '#1971c2', lux: '#e0a800', motion: '#7048e8', dhtErrors: '#c92a2a' };
