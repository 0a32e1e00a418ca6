// bench-quic: one stream over loopback through usbhop's quic layer, and the
// same amount fetched with ngtcp2's own example programs (gtlsserver serving
// a file, gtlsclient --download) in the same run. Prints wall time,
// throughput, CPU seconds per GiB (client, server, both) and the ratios.
//
//   bench-quic [SIZE] [--payload N]     SIZE like 1G, 256M (default 1G)
//
// Server and client run as separate processes in both cases, so that the CPU
// figures compare like with like (getrusage of each child).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "quic/endpoint.hpp"
#include "util/log.hpp"

using namespace usbhop;

namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

struct Figures {
    bool ok = false;
    double wall = 0;
    double client_cpu = 0;
    double server_cpu = 0;
};

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }
double cpu_of(const rusage& ru) { return seconds(ru.ru_utime) + seconds(ru.ru_stime); }

uint64_t parse_size(const char* text) {
    char* end = nullptr;
    double v = strtod(text, &end);
    switch (end && *end ? *end : ' ') {
    case 'G': case 'g': v *= kGiB; break;
    case 'M': case 'm': v *= 1024.0 * 1024; break;
    case 'K': case 'k': v *= 1024.0; break;
    default: break;
    }
    return static_cast<uint64_t>(v);
}

// --- usbhop ----------------------------------------------------------------

// Server process: accepts one connection; on the first stream it reads an
// 8-byte size and answers with that many bytes, then FIN.
[[noreturn]] void run_server(const identity::NodeKey& key, const identity::NodeId& client, quic::Config cfg,
                             int ready_fd) {
    loop::Loop loop;
    auto ep = quic::Endpoint::create(loop, key, *loop::SocketAddress::parse("127.0.0.1:0"), cfg);
    if (!ep) _exit(2);
    uint16_t port = (*ep)->local_address().port();
    if (write(ready_fd, &port, sizeof port) != sizeof port) _exit(2);
    close(ready_fd);
    quic::Connection* conn = nullptr;
    int64_t stream = -1;
    uint64_t left = 0;
    Bytes request;
    static Bytes block(1 << 20, std::byte{0x5a});
    bool done = false;
    auto pump = [&] {
        while (left > 0) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), left));
            size_t took = conn->write(stream, ByteSpan(block).first(n), n == left);
            left -= took;
            if (took < n) return;
        }
    };
    quic::Handlers h;
    h.on_stream_data = [&](int64_t id, ByteSpan data, bool) {
        request.insert(request.end(), data.begin(), data.end());
        if (stream >= 0 || request.size() < 8) return;
        stream = id;
        ByteReader r(request);
        r.get_u64(left);
        pump();
    };
    h.on_writable = [&](int64_t) { pump(); };
    h.on_closed = [&](const quic::CloseInfo&) { done = true; };
    (*ep)->listen([&](const identity::NodeId& id) { return id == client; },
                  [&](quic::Connection& c) {
                      conn = &c;
                      c.set_handlers(h);
                  });
    loop.run_until([&] { return done; }, 600 * kSecond);
    ep->reset();
    _exit(0);
}

Figures run_usbhop(uint64_t size, quic::Config cfg) {
    Figures f;
    auto server_key = identity::NodeKey::generate();
    auto client_key = identity::NodeKey::generate();
    if (!server_key || !client_key) return f;
    int pipefd[2];
    if (pipe(pipefd) != 0) return f;
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        run_server(*server_key, client_key->id(), cfg, pipefd[1]);
    }
    close(pipefd[1]);
    uint16_t port = 0;
    if (read(pipefd[0], &port, sizeof port) != sizeof port) return f;
    close(pipefd[0]);

    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    Nanos start = monotonic_ns();
    {
        loop::Loop loop;
        auto ep = quic::Endpoint::create(loop, *client_key, *loop::SocketAddress::parse("127.0.0.1:0"), cfg);
        if (!ep) return f;
        uint64_t got = 0;
        bool fin = false, failed = false;
        quic::Connection* conn = nullptr;
        quic::Handlers h;
        h.on_established = [&] {
            auto s = conn->open_stream();
            if (!s) {
                failed = true;
                return;
            }
            Bytes req;
            ByteWriter(req).put_u64(size);
            conn->write(*s, req, true);
        };
        h.on_stream_data = [&](int64_t, ByteSpan data, bool end) {
            got += data.size();
            fin |= end;
        };
        h.on_closed = [&](const quic::CloseInfo&) { failed = true; };
        auto server = loop::SocketAddress::ipv4(0x7f000001, port);
        auto c = (*ep)->connect(server, server_key->id(), h);
        if (!c) return f;
        conn = *c;
        loop.run_until([&] { return fin || failed; }, 600 * kSecond);
        f.wall = static_cast<double>(monotonic_ns() - start) / kSecond;
        f.ok = fin && got == size;
        if (!failed) conn->close(0, "done");
        loop.run_until([&] { return failed; }, 2 * kSecond);
    }
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    f.client_cpu = cpu_of(after) - cpu_of(before);
    int status = 0;
    rusage child{};
    if (wait4(pid, &status, 0, &child) == pid) f.server_cpu = cpu_of(child);
    return f;
}

// --- ngtcp2 examples -------------------------------------------------------------

int run_quiet(const std::vector<std::string>& argv) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have(const char* prog) {
    std::string cmd = std::string("command -v ") + prog + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

Figures run_examples(uint64_t size, const std::string& dir) {
    Figures f;
    std::string htdocs = dir + "/htdocs", down = dir + "/download";
    mkdir(htdocs.c_str(), 0700);
    mkdir(down.c_str(), 0700);
    std::string tmpl = dir + "/cert.tmpl";
    if (FILE* t = fopen(tmpl.c_str(), "w")) {
        fputs("cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\nexpiration_days = 2\ntls_www_server\n", t);
        fclose(t);
    }
    std::string key = dir + "/key.pem", cert = dir + "/cert.pem";
    if (run_quiet({"certtool", "--generate-privkey", "--key-type=ed25519", "--outfile", key}) != 0 ||
        run_quiet({"certtool", "--generate-self-signed", "--load-privkey", key, "--template", tmpl, "--outfile",
                   cert}) != 0)
        return f;
    std::string file = htdocs + "/blob";
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return f;
    std::vector<char> block(1 << 20, 0x5a);
    for (uint64_t left = size; left > 0;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), left));
        if (write(fd, block.data(), n) != static_cast<ssize_t>(n)) break;
        left -= n;
    }
    close(fd);
    std::string port = std::to_string(20000 + getpid() % 20000);

    pid_t server = fork();
    if (server == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("gtlsserver", "gtlsserver", "-q", "-d", htdocs.c_str(), "127.0.0.1", port.c_str(), key.c_str(),
               cert.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    usleep(300 * 1000);   // let it bind
    Nanos start = monotonic_ns();
    pid_t client = fork();
    if (client == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        std::string url = "https://127.0.0.1:" + port + "/blob";
        execlp("gtlsclient", "gtlsclient", "-q", "--exit-on-all-streams-close", "--download", down.c_str(),
               "127.0.0.1", port.c_str(), url.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    rusage cru{};
    wait4(client, &status, 0, &cru);
    f.wall = static_cast<double>(monotonic_ns() - start) / kSecond;
    f.client_cpu = cpu_of(cru);
    kill(server, SIGTERM);
    rusage sru{};
    wait4(server, &status, 0, &sru);
    f.server_cpu = cpu_of(sru);
    struct stat st{};
    f.ok = stat((down + "/blob").c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == size;
    return f;
}

void print(const char* name, const Figures& f, uint64_t size) {
    double gib = static_cast<double>(size) / kGiB;
    if (!f.ok) {
        printf("%-22s FAILED\n", name);
        return;
    }
    printf("%-22s %8.2f s  %6.2f Gbit/s  CPU/GiB: client %5.2f s  server %5.2f s  total %5.2f s\n", name, f.wall,
           static_cast<double>(size) * 8 / f.wall / 1e9, f.client_cpu / gib, f.server_cpu / gib,
           (f.client_cpu + f.server_cpu) / gib);
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t size = parse_size("1G");
    quic::Config cfg;
    cfg.idle_timeout = 30 * kSecond;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--payload" && i + 1 < argc) cfg.max_udp_payload = static_cast<size_t>(atoi(argv[++i]));
        else size = parse_size(argv[i]);
    }
    log::set_threshold(log::Level::warning);
    printf("bench-quic: %.3f GiB over one stream on loopback (usbhop max UDP payload %zu)\n",
           static_cast<double>(size) / kGiB, cfg.max_udp_payload);
    fflush(stdout);

    Figures ours = run_usbhop(size, cfg);
    print("usbhop quic", ours, size);
    fflush(stdout);

    if (!have("gtlsserver") || !have("gtlsclient") || !have("certtool")) {
        printf("ngtcp2 examples        not installed (packages ngtcp2-server, ngtcp2-client): no reference run\n");
        return ours.ok ? 0 : 1;
    }
    const char* tmp = getenv("TMPDIR");
    std::string dir = std::string(tmp ? tmp : "/tmp") + "/bench-quic-XXXXXX";
    if (!mkdtemp(dir.data())) return 1;
    Figures ref = run_examples(size, dir);
    std::system(("rm -rf '" + dir + "'").c_str());
    print("gtlsserver/gtlsclient", ref, size);
    if (ours.ok && ref.ok) {
        double gib = static_cast<double>(size) / kGiB;
        printf("ratio usbhop/examples: wall speed %.2fx, CPU per GiB %.2fx (below 1 is less CPU)\n", ref.wall / ours.wall,
               ((ours.client_cpu + ours.server_cpu) / gib) / ((ref.client_cpu + ref.server_cpu) / gib));
    }
    return ours.ok && ref.ok ? 0 : 1;
}
