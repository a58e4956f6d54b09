// Host functions of canopy/ota-slot (ota-slot.c). JavaScript rather than TypeScript because tsc
// cannot read XS's `@ "name"` native-function syntax; ota-slot.d.ts types it.
function slotSize() @ "xs_canopy_ota_slot_size";
function begin(size) @ "xs_canopy_ota_begin";
function resume() @ "xs_canopy_ota_resume";
function write(offset, bytes) @ "xs_canopy_ota_write";
function read(offset, length) @ "xs_canopy_ota_read";
function complete() @ "xs_canopy_ota_complete";
function abort() @ "xs_canopy_ota_abort";
function state() @ "xs_canopy_ota_state";
function markValid() @ "xs_canopy_ota_mark_valid";
function rollback() @ "xs_canopy_ota_rollback";

export default Object.freeze({ slotSize, begin, resume, write, read, complete, abort, state, markValid, rollback });
