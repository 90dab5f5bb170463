// Package hostaddr tells whether an address belongs to this host. The DNS
// config check and the DNS server both use it to refuse a recursor that
// points back at our own listener. It imports only the standard library.
package hostaddr

import (
	"net"
	"net/netip"
)

// Is tells whether ip is a loopback or unspecified address or one of this
// host's interface addresses.
func Is(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
