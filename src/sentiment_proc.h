/*
 * sentiment_proc.h - shared declarations of the server glue.
 *
 * Each concern lives in its own file: module init and settings
 * (sentiment_proc.c), batch processing (batch.c), SQL-callable analysis
 * (analyze.c), background workers (worker.c), statistics (stats.c).
 */
#ifndef SENTIMENT_PROC_H
#define SENTIMENT_PROC_H

#include "postgres.h"

/*
 * Process up to batch_size pending rows of one source (InvalidOid: every
 * attached source, in registry order) in the caller's transaction.  The
 * caller has an active snapshot; SPI is connected and finished inside.
 * Returns the number of rows this call completed or failed.
 */
extern int64 sp_process_batch(Oid source, int batch_size);

#endif							/* SENTIMENT_PROC_H */
