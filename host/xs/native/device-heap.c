/*
 * An xsnap-worker whose heap is sized like the device's. Linked from @agoric/xsnap's own object
 * files with `-Wl,--wrap=fxCreateMachine` (host/xs/heap-worker.ts builds it), so xsnap-worker.c is
 * used as is: only the creation it passes (a 32 MB chunk heap and 256 K slots, memset at
 * start, hence ~50 MB RSS per worker) is replaced.
 *
 * CANOPY_XS_CREATION="initialChunk,incrementalChunk,initialSlots,incrementalSlots,stack" sets the
 * creation while the firmware loads. Then the host calls the global canopySealHeap(chunks, slots)
 * once: it collects garbage and leaves exactly `chunks` bytes and `slots` slots free beyond what
 * the loaded firmware holds (on an ESP32 the firmware is preloaded into flash, so the device's
 * creation is all free for the app), and no more, as an ESP32's incremental 0 does. Past it, XS
 * aborts with "memory full" and the worker exits with code 11 (E_NOT_ENOUGH_MEMORY).
 */
#include "xsAll.h"
#include "xs.h"
#include <stdio.h>
#include <stdlib.h>

extern txMachine* __real_fxCreateMachine(txCreation* theCreation, txString theName, void* theContext, txID profileID);
extern void fxGrowSlots(txMachine* the, txSize theCount);

static void canopy_seal_heap(xsMachine* the)
{
	txSize chunks = xsToInteger(xsArg(0));
	txSize slots = xsToInteger(xsArg(1));
	txSize freeChunks, freeSlots;
	char json[160];
	xsCollectGarbage();
	/* Slots: grow to exactly `slots` free, then never again (ESP32: heap incremental 0). */
	freeSlots = the->maximumHeapCount - the->currentHeapCount;
	if (freeSlots < slots)
		fxGrowSlots(the, slots - freeSlots);
	the->minimumHeapCount = 0;
	/* Chunks: xsMemory.c's chunk growth is static, so the chunk heap may still grow in 1 KB steps,
	   but only by what is missing: xsnapPlatform.c's allocation meter aborts past the limit. */
	freeChunks = the->maximumChunksSize - the->currentChunksSize;
	if (freeChunks > chunks + 1024) {
		/* Loading peaked higher (the program's source text): hold the excess in a buffer that only
		   the real global reaches (the firmware's Compartment cannot), so the app gets `chunks`. */
		xsSet(xsGlobal, xsID("canopyHeapBallast"), xsArrayBuffer(NULL, freeChunks - chunks - 64));
		freeChunks = the->maximumChunksSize - the->currentChunksSize;
	}
	the->minimumChunksSize = 1024;
	the->allocationLimit = the->allocatedSpace + (freeChunks < chunks ? (size_t)(chunks - freeChunks) : 0);
	snprintf(json, sizeof(json), "{\"chunks\":%ld,\"slots\":%ld,\"chunksUsed\":%ld,\"slotsUsed\":%ld}",
		(long)(freeChunks < chunks ? chunks : freeChunks), (long)(the->maximumHeapCount - the->currentHeapCount),
		(long)the->currentChunksSize, (long)the->currentHeapCount);
	xsResult = xsString(json);
}

txMachine* __wrap_fxCreateMachine(txCreation* theCreation, txString theName, void* theContext, txID profileID)
{
	const char* spec = getenv("CANOPY_XS_CREATION");
	txMachine* the;
	if (spec) {
		long v[5];
		if (sscanf(spec, "%ld,%ld,%ld,%ld,%ld", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5) {
			fprintf(stderr, "CANOPY_XS_CREATION must be initialChunk,incrementalChunk,initialSlots,incrementalSlots,stack: %s\n", spec);
			exit(1);
		}
		theCreation->initialChunkSize = (txSize)v[0];
		theCreation->incrementalChunkSize = (txSize)v[1];
		theCreation->initialHeapCount = (txSize)v[2];
		theCreation->incrementalHeapCount = (txSize)v[3];
		theCreation->stackCount = (txSize)v[4];
	}
	the = __real_fxCreateMachine(theCreation, theName, theContext, profileID);
	if (the && spec) {
		xsBeginHost(the);
		xsSet(xsGlobal, xsID("canopySealHeap"), xsNewHostFunction(canopy_seal_heap, 2));
		xsEndHost(the);
	}
	return the;
}
