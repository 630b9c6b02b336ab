// Fixed VHDs in Azure page blobs: blank disks, disk images uploaded as fixed VHDs, and the containers that hold them.
package blankvhd
