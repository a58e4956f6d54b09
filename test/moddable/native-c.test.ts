// npm run test:moddable: the native C modules against the SDK's own xs/includes,
// xs/platforms/esp/xsHost.h and modules/io/common (ESP-IDF itself is still stand-ins).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { clash, cleanNativeScratch, nativeRoot as root, natives, oldOtaSlot, otaSlot, sdkHeaders, syntaxCheck } from '../support/native-c.ts';
import { requireSdk } from '../../host/moddable/sdk.ts';

afterAll(cleanNativeScratch);

describe('native C modules against the full SDK (gcc -fsyntax-only; docs/native.md)', () => {
    const sdk = requireSdk().moddable;
    it('MODDABLE holds the SDK\'s ESP32 host header', () => {
      expect(existsSync(join(sdk, 'xs/platforms/esp/xsHost.h')), `${sdk}/xs/platforms/esp/xsHost.h`).toBe(true);
    });
    for (const file of natives) {
      it(`${relative(root, file)} with the SDK's xs/platforms/esp/xsHost.h`, () => {
        const r = syntaxCheck(file, sdkHeaders(sdk));
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      });
    }
    it('rejects the old ota-slot.c against the SDK header too', () => {
      const r = syntaxCheck(otaSlot, sdkHeaders(sdk), oldOtaSlot());
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(clash);
    });
  });
