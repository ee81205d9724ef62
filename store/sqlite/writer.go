package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit. SQLite has one writer, and with synchronous=FULL every
// commit waits for an fsync, which caps writes at a few hundred per second
// however many callers there are. So every write transaction goes through
// one goroutine that takes whatever writes are queued when it is free, runs
// each in a SAVEPOINT of one transaction (a failing write is rolled back
// alone) and commits them together: one fsync for the batch. Each caller
// still returns only after its write is committed, so a 200 still means the
// change is on disk.

// maxBatch bounds a group commit, and with it the latency a queued write
// can add to the others in its batch.
const maxBatch = 128

type writeOp struct {
	ctx  context.Context // without cancellation: see do
	fn   func(context.Context, *sql.Tx) error
	done chan error
}

// writer runs queued writes in batches until Close.
type writer struct {
	db     *sql.DB
	ops    chan *writeOp
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

var errClosed = errors.New("sqlite: database closed")

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, ops: make(chan *writeOp, maxBatch), closed: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w
}

// do runs fn in a write transaction and returns once it is committed (or
// failed). A cancelled ctx stops the wait for a place in the queue; once
// queued, the write runs to the end without ctx's cancellation, because
// interrupting SQLite mid-statement would roll back the whole batch.
func (w *writer) do(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	op := &writeOp{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closed:
		return errClosed
	}
	return <-op.done
}

func (w *writer) run() {
	defer w.wg.Done()
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-w.ops:
			batch = append(batch[:0], op)
		case <-w.closed:
			w.drain()
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// drain fails the writes still queued at Close.
func (w *writer) drain() {
	for {
		select {
		case op := <-w.ops:
			op.done <- errClosed
		default:
			return
		}
	}
}

func (w *writer) commit(batch []*writeOp) {
	errs := make([]error, len(batch))
	finish := func() {
		for i, op := range batch {
			op.done <- errs[i]
		}
	}
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		finish()
		return
	}
	if len(batch) == 1 {
		// Alone: no savepoint needed; a failure rolls back the transaction.
		if errs[0] = call(batch[0], tx); errs[0] != nil {
			tx.Rollback()
		} else {
			errs[0] = tx.Commit()
		}
		finish()
		return
	}
	for i, op := range batch {
		if _, err := tx.ExecContext(op.ctx, "SAVEPOINT w"); err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = call(op, tx); errs[i] != nil {
			tx.ExecContext(op.ctx, "ROLLBACK TO w")
		}
		tx.ExecContext(op.ctx, "RELEASE w")
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	finish()
}

// call runs one write, turning a panic into its error so that one bad write
// cannot stop the writer for everyone.
func call(op *writeOp, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", v)
		}
	}()
	return op.fn(op.ctx, tx)
}

func (w *writer) close() {
	w.once.Do(func() { close(w.closed) })
	w.wg.Wait()
}
