// The process's pool of worker threads behind parallel_for (parallel.h).
//
// A loop is a Job on the caller's stack, queued while it wants helpers. An
// idle worker takes it (under the pool's lock), runs items until none is
// left and leaves; the caller runs items too, then unqueues the job and
// waits until no helper is inside. Waiting callers run nothing else: an
// item may hold its thread's scratch buffers (engine/kernels.h) for helpers
// to read, so nothing may run on that thread until they are done. Workers
// are started when a loop wants more than are idle or starting (up to
// kMaxWorkers), with every signal blocked (the host's signals go to its
// own threads), and never stop; the pool is never destroyed, and libmsic
// is linked with -z nodelete so that no unload pulls its code from under
// them. A forked child starts a new pool (its parent's workers do not
// exist there) and keeps the old one reachable.
#include "parallel.h"

#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "buffer_pool.h"

namespace msic::detail {
namespace {

constexpr int kMaxWorkers = 256;

struct Job {
  size_t n = 0;
  void (*item)(void *, size_t) = nullptr;
  void *context = nullptr;
  ThreadShare *share = nullptr;
  BufferPool *buffers = nullptr;  // the caller's
  std::atomic<size_t> next{0};
  int wanted = 0;  // helpers still to take it (pool lock)
  int inside = 0;  // helpers running it (pool lock)
  std::mutex error_mutex;
  std::exception_ptr error;

  void work() {
    BufferPool::Use use(buffers);
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        item(context, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(n);
      }
    }
    if (share) share->worker_done();
  }
};

class WorkerPool {
 public:
  explicit WorkerPool(WorkerPool *retired = nullptr) : retired_(retired) {}

  void run(Job &job, int helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job.wanted = helpers;
      queue_.push_back(&job);
      int wanted = 0;
      for (const Job *j : queue_) wanted += j->wanted;
      start_workers(wanted - idle_ - starting_);
    }
    changed_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(mutex_);
    unqueue(&job);
    for (; job.wanted > 0; --job.wanted)  // places nobody took: idle threads
      if (job.share) job.share->worker_done();
    changed_.wait(lock, [&] { return job.inside == 0; });
  }

 private:
  // `more` workers (pool lock held), as many as can be had.
  void start_workers(int more) {
    more = std::min(more, kMaxWorkers - workers_);
    if (more <= 0) return;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    try {
      for (; more > 0; --more) {
        std::thread(&WorkerPool::serve, this).detach();
        ++workers_;
        ++starting_;
      }
    } catch (...) {
      // No more threads (system_error, bad_alloc): the workers there are
      // and the caller run the loop.
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  void unqueue(const Job *job) {
    for (size_t i = 0; i < queue_.size(); ++i)
      if (queue_[i] == job) {
        queue_.erase(queue_.begin() + long(i));
        return;
      }
  }

  void serve() {
    std::unique_lock<std::mutex> lock(mutex_);
    --starting_;
    for (;;) {
      Job *job = nullptr;
      for (Job *j : queue_)
        if (j->wanted > 0) {
          job = j;
          break;
        }
      if (!job) {
        ++idle_;
        changed_.wait(lock);
        --idle_;
        continue;
      }
      if (--job->wanted == 0) unqueue(job);
      ++job->inside;
      lock.unlock();
      job->work();
      lock.lock();
      if (--job->inside == 0) changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Job *> queue_;
  int idle_ = 0, starting_ = 0, workers_ = 0;
  WorkerPool *const retired_;  // a forked parent's pool, kept reachable
};

// Made when libmsic loads, before any thread of its own could fork, and
// never destroyed: detached workers wait on its lock until the process
// ends.
WorkerPool *pool = new WorkerPool;
const int fork_handler = pthread_atfork(nullptr, nullptr, [] { pool = new WorkerPool(pool); });

}  // namespace

void run_parallel(size_t n, int helpers, void (*item)(void *, size_t), void *context, ThreadShare *share) {
  (void)fork_handler;
  Job job;
  job.n = n;
  job.item = item;
  job.context = context;
  job.share = share;
  job.buffers = BufferPool::current();
  pool->run(job, helpers);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace msic::detail
