package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

const (
	// Client rate limits of Cluster.Config.
	clientQPS   = 200
	clientBurst = 400
	// Rate limits of kube-controller-manager towards the API server (the
	// defaults 20/30 throttle e.g. the resourceclaim controller).
	controllerManagerQPS   = 200
	controllerManagerBurst = 400

	// stepTimeout bounds each wait during Start, in addition to ctx.
	stepTimeout = 3 * time.Minute
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
	// pollInterval is the interval of readiness probes.
	pollInterval = 100 * time.Millisecond

	serviceClusterIPRange = "10.0.0.0/24"
	serviceAccountIssuer  = "https://kubernetes.default.svc.cluster.local"
	frontProxyClientName  = "front-proxy-client"
	etcdMemberName        = "hadron"
	etcdQuotaBytes        = 2 << 30 // bbolt only maps what is used
)

var apiServerServiceIP = net.IPv4(10, 0, 0, 1)

// Cluster is a running local control plane.
type Cluster struct {
	// KubeconfigPath is the admin kubeconfig written under WorkDir.
	KubeconfigPath string
	// Config is the admin client configuration (group system:masters) with
	// raised QPS/Burst. Copy it (rest.CopyConfig) before modifying it.
	Config *rest.Config
	// StartupTime is how long Start took.
	StartupTime time.Duration

	opts        Options
	tempWorkDir bool
	ca          *certificateAuthority
	ports       ports

	mu       sync.Mutex
	procs    []*process // in start order
	stopErr  error
	stopOnce sync.Once
}

type ports struct {
	etcdClient, etcdPeer, apiServer, controllerManager, scheduler int
}

func (p ports) all() []int {
	return []int{p.etcdClient, p.etcdPeer, p.apiServer, p.controllerManager, p.scheduler}
}

// paths of the files below WorkDir.
type paths struct {
	workDir, logDir, etcdData, certDir              string
	caCert, caKey, servingCert, servingKey          string
	frontProxyCACert, frontProxyCert, frontProxyKey string
	saKey, saPub, tokens                            string
	adminKubeconfig, cmKubeconfig, schedKubeconfig  string
	schedConfig                                     string
}

func newPaths(workDir string) paths {
	j := func(name string) string { return filepath.Join(workDir, name) }
	return paths{
		workDir:          workDir,
		logDir:           j("logs"),
		etcdData:         j("etcd-data"),
		certDir:          j("pki"),
		caCert:           j("pki/ca.crt"),
		caKey:            j("pki/ca.key"),
		servingCert:      j("pki/apiserver.crt"),
		servingKey:       j("pki/apiserver.key"),
		frontProxyCACert: j("pki/front-proxy-ca.crt"),
		frontProxyCert:   j("pki/front-proxy-client.crt"),
		frontProxyKey:    j("pki/front-proxy-client.key"),
		saKey:            j("pki/sa.key"),
		saPub:            j("pki/sa.pub"),
		tokens:           j("pki/tokens.csv"),
		adminKubeconfig:  j("admin.kubeconfig"),
		cmKubeconfig:     j("controller-manager.kubeconfig"),
		schedKubeconfig:  j("scheduler.kubeconfig"),
		schedConfig:      j("scheduler-config.yaml"),
	}
}

// Start starts etcd, kube-apiserver, kube-controller-manager and the
// scheduler. It returns once the API server is ready, resource.k8s.io/v1 is
// served, the controller-manager and the scheduler are healthy and the
// default ServiceAccount exists in the default namespace.
//
// ctx bounds the startup only; the cluster runs until Stop is called (or
// the calling process exits: the components die with it). On failure
// everything started so far is stopped again and the error includes the
// tail of the failing component's log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	logger := klog.FromContext(ctx)
	begin := time.Now()

	opts, tempWorkDir, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	bins, err := opts.binaries()
	if err != nil {
		if tempWorkDir {
			_ = os.RemoveAll(opts.WorkDir)
		}
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		c, err := start(ctx, opts, bins)
		if err == nil {
			c.tempWorkDir = tempWorkDir
			c.StartupTime = time.Since(begin)
			logger.V(1).Info("Local control plane ready", "startupTime", c.StartupTime, "workDir", opts.WorkDir, "kubeconfig", c.KubeconfigPath)
			opts.Progress(fmt.Sprintf("control plane ready in %.1fs", c.StartupTime.Seconds()))
			return c, nil
		}
		var ce *componentError
		if attempt == 1 && ctx.Err() == nil && errors.As(err, &ce) && ce.bindConflict() {
			logger.Info("Port conflict while starting the control plane, retrying with new ports", "err", err)
			opts.Progress("port conflict, retrying")
			continue
		}
		// The temporary WorkDir is kept: the error refers to its logs.
		return nil, fmt.Errorf("start local control plane (state and logs in %s): %w", opts.WorkDir, err)
	}
}

// start makes one attempt to bring up the control plane.
func start(ctx context.Context, opts Options, bins binaries) (_ *Cluster, finalErr error) {
	logger := klog.FromContext(ctx)
	p := newPaths(opts.WorkDir)
	c := &Cluster{opts: opts, KubeconfigPath: p.adminKubeconfig}
	defer func() {
		if finalErr != nil {
			if err := c.stopProcesses(); err != nil {
				logger.Error(err, "Stopping control plane after failed start")
			}
		}
	}()

	// State directory. The etcd data is wiped: each Start is a fresh cluster.
	if err := os.RemoveAll(p.etcdData); err != nil {
		return nil, fmt.Errorf("remove old etcd data: %w", err)
	}
	for _, dir := range []string{p.workDir, p.logDir, p.certDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}

	stepStart := time.Now()
	tokens, err := c.writeCredentials(p)
	if err != nil {
		return nil, err
	}
	if c.ports, err = pickPorts(); err != nil {
		return nil, err
	}
	apiServerURL := "https://127.0.0.1:" + strconv.Itoa(c.ports.apiServer)
	c.Config = &rest.Config{
		Host:            apiServerURL,
		BearerToken:     tokens.admin,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.ca.certPEM},
		QPS:             clientQPS,
		Burst:           clientBurst,
	}
	for _, kc := range []struct{ path, user, token string }{
		{p.adminKubeconfig, "admin", tokens.admin},
		{p.cmKubeconfig, "kube-controller-manager", tokens.controllerManager},
		{p.schedKubeconfig, "scheduler", tokens.scheduler},
	} {
		if err := writeKubeconfig(kc.path, apiServerURL, c.ca.certPEM, kc.user, kc.token); err != nil {
			return nil, err
		}
	}
	schedCfg, err := schedulerConfig(opts.SchedulerConfig, p.schedKubeconfig)
	if err != nil {
		return nil, err
	}
	if err := writeFile(p.schedConfig, schedCfg); err != nil {
		return nil, err
	}
	logger.V(2).Info("Wrote credentials and configuration", "duration", time.Since(stepStart), "ports", c.ports)

	// etcd
	stepStart = time.Now()
	etcd, err := c.startComponent(ComponentEtcd, bins.etcd, etcdArgs(p, c.ports))
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdClient)
	plainHTTP := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(ctx, "etcd to become healthy", etcd, []*process{etcd}, func(ctx context.Context) error {
		return probe(ctx, plainHTTP, etcdURL+"/health", "")
	}); err != nil {
		return nil, err
	}
	c.progress("etcd ready", stepStart)

	// kube-apiserver
	stepStart = time.Now()
	apiServer, err := c.startComponent(ComponentAPIServer, bins.apiserver, apiServerArgs(p, c.ports))
	if err != nil {
		return nil, err
	}
	caPool := x509.NewCertPool()
	caPool.AddCert(c.ca.cert)
	apiHTTP := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12}},
	}
	defer apiHTTP.CloseIdleConnections()
	if err := waitFor(ctx, "kube-apiserver to become ready", apiServer, c.running(), func(ctx context.Context) error {
		return probe(ctx, apiHTTP, apiServerURL+"/readyz", tokens.admin)
	}); err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if err := waitFor(ctx, "resource.k8s.io/v1 to be served", apiServer, c.running(), func(ctx context.Context) error {
		return checkResourceAPI(client)
	}); err != nil {
		return nil, err
	}
	c.progress("kube-apiserver ready", stepStart)

	// kube-controller-manager and scheduler, in parallel.
	stepStart = time.Now()
	cm, err := c.startComponent(ComponentControllerManager, bins.controllerManager, controllerManagerArgs(p, c.ports))
	if err != nil {
		return nil, err
	}
	sched, err := c.startComponent(ComponentScheduler, bins.scheduler, schedulerArgs(p, c.ports))
	if err != nil {
		return nil, err
	}
	insecureHTTP := newProbeClient()
	defer insecureHTTP.CloseIdleConnections()
	// Both are watched by both waits; the first failure is reported.
	errCh := make(chan error, 2)
	go func() {
		err := waitFor(ctx, "kube-controller-manager to become healthy", cm, c.running(), func(ctx context.Context) error {
			return probe(ctx, insecureHTTP, "https://127.0.0.1:"+strconv.Itoa(c.ports.controllerManager)+"/healthz", "")
		})
		if err == nil {
			c.progress("kube-controller-manager healthy", stepStart)
		}
		errCh <- err
	}()
	go func() {
		err := c.waitSchedulerReady(ctx, "scheduler to become ready", insecureHTTP, sched)
		if err == nil {
			c.progress(opts.SchedulerBinary+" ready", stepStart)
		}
		errCh <- err
	}()
	var firstErr error
	for range 2 {
		if err := <-errCh; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}

	// Controllers work: the serviceaccount controller creates the default
	// ServiceAccount in the default namespace (which the API server creates).
	stepStart = time.Now()
	if err := waitFor(ctx, "default ServiceAccount in namespace default", cm, c.running(), func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	c.progress("default ServiceAccount exists", stepStart)
	return c, nil
}

// writeCredentials creates the CA, serving certificate, service account key
// and the static token file.
func (c *Cluster) writeCredentials(p paths) (componentTokens, error) {
	var tokens componentTokens
	ca, err := newCA("hadron-localcluster-ca")
	if err != nil {
		return tokens, err
	}
	c.ca = ca
	// The request header (front proxy) CA lets kube-controller-manager and
	// the scheduler complete their delegated authentication setup, and
	// aggregated API servers work.
	frontProxyCA, err := newCA("hadron-localcluster-front-proxy-ca")
	if err != nil {
		return tokens, err
	}
	frontProxyCert, frontProxyKey, err := frontProxyCA.clientCert(frontProxyClientName, nil)
	if err != nil {
		return tokens, fmt.Errorf("front proxy client certificate: %w", err)
	}
	caKey, err := ca.keyPEM()
	if err != nil {
		return tokens, err
	}
	servingCert, servingKey, err := ca.servingCert(apiServerServiceIP)
	if err != nil {
		return tokens, fmt.Errorf("API server serving certificate: %w", err)
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return tokens, err
	}
	tokens = componentTokens{admin: randomToken(16), controllerManager: randomToken(16), scheduler: randomToken(16)}
	// token,user,uid,"group1,group2". All identities are cluster admins:
	// this is a local development cluster, and out-of-tree scheduler
	// plugins may need more than the default system:kube-scheduler role.
	tokenFile := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n"+
		"%s,system:kube-controller-manager,system:kube-controller-manager,\"system:masters\"\n"+
		"%s,system:kube-scheduler,system:kube-scheduler,\"system:masters\"\n",
		tokens.admin, tokens.controllerManager, tokens.scheduler)
	for _, f := range []struct {
		path string
		data []byte
	}{
		{p.caCert, ca.certPEM},
		{p.caKey, caKey},
		{p.servingCert, servingCert},
		{p.servingKey, servingKey},
		{p.frontProxyCACert, frontProxyCA.certPEM},
		{p.frontProxyCert, frontProxyCert},
		{p.frontProxyKey, frontProxyKey},
		{p.saKey, saKey},
		{p.saPub, saPub},
		{p.tokens, []byte(tokenFile)},
	} {
		if err := writeFile(f.path, f.data); err != nil {
			return tokens, err
		}
	}
	return tokens, nil
}

type componentTokens struct {
	admin, controllerManager, scheduler string
}

func writeKubeconfig(path, server string, caPEM []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

func etcdArgs(p paths, pt ports) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(pt.etcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(pt.etcdPeer)
	return []string{
		"--name=" + etcdMemberName,
		"--data-dir=" + p.etcdData,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + etcdMemberName + "=" + peer,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true",
		"--quota-backend-bytes=" + strconv.Itoa(etcdQuotaBytes),
		"--log-level=warn",
	}
}

func apiServerArgs(p paths, pt ports) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(pt.etcdClient),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(pt.apiServer),
		"--cert-dir=" + p.certDir,
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert,
		"--token-auth-file=" + p.tokens,
		"--requestheader-client-ca-file=" + p.frontProxyCACert,
		"--requestheader-allowed-names=" + frontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-uid-headers=X-Remote-Uid",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.frontProxyCert,
		"--proxy-client-key-file=" + p.frontProxyKey,
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + p.saPub,
		"--service-account-signing-key-file=" + p.saKey,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-cluster-ip-range=" + serviceClusterIPRange,
		// Endpoints may not point to loopback addresses; nothing needs
		// the endpoints of the kubernetes service here.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--feature-gates=" + FeatureGates,
		"--runtime-config=" + RuntimeConfig,
	}
}

func controllerManagerArgs(p paths, pt ports) []string {
	return []string{
		"--kubeconfig=" + p.cmKubeconfig,
		"--authentication-kubeconfig=" + p.cmKubeconfig,
		"--authorization-kubeconfig=" + p.cmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(pt.controllerManager),
		"--leader-elect=false",
		// All controllers which are on by default; the DRA ones
		// (resourceclaim-controller, device-taint-eviction-controller,
		// resourcepoolstatusrequest-controller) only depend on their
		// feature gates.
		"--controllers=*",
		"--service-account-private-key-file=" + p.saKey,
		"--root-ca-file=" + p.caCert,
		"--use-service-account-credentials=false",
		"--kube-api-qps=" + strconv.Itoa(controllerManagerQPS),
		"--kube-api-burst=" + strconv.Itoa(controllerManagerBurst),
		"--feature-gates=" + FeatureGates,
	}
}

func schedulerArgs(p paths, pt ports) []string {
	return []string{
		"--config=" + p.schedConfig,
		"--authentication-kubeconfig=" + p.schedKubeconfig,
		"--authorization-kubeconfig=" + p.schedKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(pt.scheduler),
		"--feature-gates=" + FeatureGates,
	}
}

// startComponent starts a component and records it for Stop.
func (c *Cluster) startComponent(name, binary string, args []string) (*process, error) {
	args = append(args, c.opts.ExtraArgs[name]...)
	proc, err := startProcess(name, binary, args, c.opts.WorkDir, filepath.Join(c.opts.WorkDir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, proc)
	c.mu.Unlock()
	return proc, nil
}

// running returns the started processes.
func (c *Cluster) running() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*process(nil), c.procs...)
}

func (c *Cluster) progress(step string, since time.Time) {
	c.opts.Progress(fmt.Sprintf("%s (%.1fs)", step, time.Since(since).Seconds()))
}

// waitFor polls check until it succeeds. It fails when ctx is done, after
// stepTimeout, or when one of the watched processes exits. Errors carry the
// log tail of the process which exited, or else of blame.
func waitFor(ctx context.Context, what string, blame *process, watched []*process, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		for _, p := range watched {
			if p.exited() {
				return p.failure(fmt.Errorf("while waiting for %s: %w", what, p.exitError()))
			}
		}
		checkCtx, checkCancel := context.WithTimeout(ctx, 5*time.Second)
		err := check(checkCtx)
		checkCancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return blame.failure(fmt.Errorf("waiting for %s: %w (last error: %w)", what, context.Cause(ctx), err))
		case <-ticker.C:
		}
	}
}

// newProbeClient returns the client for the health probes of the
// controller-manager and the scheduler, which serve with in-memory
// self-signed certificates.
func newProbeClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // health probes of local components with self-signed certificates
	}
}

// waitSchedulerReady waits until the scheduler's /readyz, which includes
// informer and event handler sync, succeeds.
func (c *Cluster) waitSchedulerReady(ctx context.Context, what string, client *http.Client, sched *process) error {
	return waitFor(ctx, what, sched, c.running(), func(ctx context.Context) error {
		return probe(ctx, client, "https://127.0.0.1:"+strconv.Itoa(c.ports.scheduler)+"/readyz", "")
	})
}

// probe does a GET and expects 200.
func probe(ctx context.Context, client *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// checkResourceAPI verifies that resource.k8s.io/v1 and its main resources
// are in discovery.
func checkResourceAPI(client kubernetes.Interface) error {
	list, err := client.Discovery().ServerResourcesForGroupVersion("resource.k8s.io/v1")
	if err != nil {
		return fmt.Errorf("discover resource.k8s.io/v1: %w", err)
	}
	want := map[string]bool{"deviceclasses": false, "resourceclaims": false, "resourceclaimtemplates": false, "resourceslices": false}
	for _, r := range list.APIResources {
		if _, ok := want[r.Name]; ok {
			want[r.Name] = true
		}
	}
	for name, found := range want {
		if !found {
			return fmt.Errorf("resource.k8s.io/v1 does not serve %s", name)
		}
	}
	return nil
}

// pickPorts is replaced in tests.
var pickPorts = freePorts

// freePorts picks distinct free loopback ports.
func freePorts() (ports, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	var nums []int
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("find free port: %w", err)
		}
		listeners = append(listeners, l)
		nums = append(nums, l.Addr().(*net.TCPAddr).Port)
	}
	return ports{etcdClient: nums[0], etcdPeer: nums[1], apiServer: nums[2], controllerManager: nums[3], scheduler: nums[4]}, nil
}

// Client returns a clientset for the admin configuration.
func (c *Cluster) Client() (kubernetes.Interface, error) {
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("create client for local cluster: %w", err)
	}
	return client, nil
}

// UserConfig returns a client configuration which authenticates as user
// with the given groups through a client certificate signed by the cluster
// CA, for example UserConfig("system:node:node-1", "system:nodes") for a
// simulated kubelet. QPS/Burst are those of Config.
func (c *Cluster) UserConfig(user string, groups ...string) (*rest.Config, error) {
	if user == "" {
		return nil, errors.New("UserConfig: empty user name")
	}
	certPEM, keyPEM, err := c.ca.clientCert(user, groups)
	if err != nil {
		return nil, fmt.Errorf("client certificate for %s: %w", user, err)
	}
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.CertData = certPEM
	cfg.KeyData = keyPEM
	return cfg, nil
}

// WorkDir returns the state directory; component logs are in
// WorkDir()/logs/<component>.log.
func (c *Cluster) WorkDir() string { return c.opts.WorkDir }

// Stop terminates all components (SIGTERM, SIGKILL after 10s) in reverse
// dependency order and waits for them. A temporary WorkDir is removed.
// Stop is idempotent; later calls return the result of the first.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopErr = c.stopProcesses()
		if c.tempWorkDir {
			if err := os.RemoveAll(c.opts.WorkDir); err != nil {
				c.stopErr = errors.Join(c.stopErr, fmt.Errorf("remove WorkDir: %w", err))
			}
		}
	})
	return c.stopErr
}

// stopProcesses stops clients of the API server first, then the API
// server, then etcd.
func (c *Cluster) stopProcesses() error {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()

	tiers := [][]string{{ComponentScheduler, ComponentControllerManager}, {ComponentAPIServer}, {ComponentEtcd}}
	var errs []error
	var mu sync.Mutex
	for _, tier := range tiers {
		var wg sync.WaitGroup
		for _, p := range procs {
			for _, name := range tier {
				if p.name != name {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := p.stop(stopGrace); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop local control plane: %w", err)
	}
	return nil
}
